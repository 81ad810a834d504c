//go:build race

package kilntest

// raceEnabled builds kiln with the race detector when the tests run with it,
// so that races in the server process fail the tests too.
const raceEnabled = true
