// Package loadgen owns Kiln's load generator: a REAPI client tuned for
// measurement, the Scenario interface, one file per scenario, and the code
// that turns samples into a report.
//
// It speaks only the public REAPI and ByteStream protocols, so it measures any
// endpoint, Kiln's or another's; it must not import Kiln's server packages.
// The blobs it writes are unique per run so that no server can answer from a
// cache, and the cost of making them is measured apart and kept out of the
// numbers.
package loadgen
