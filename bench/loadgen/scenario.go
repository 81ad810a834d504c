package loadgen

import (
	"context"
	"time"
)

// Scenario is one kind of load. Run prepares what it needs on the server
// (untimed), then drives load as its Load says and reports what it measured.
// Run returns an error only when the scenario could not be measured at all
// (its setup failed); failed operations during the timed phase are counted in
// Result.Errors instead.
type Scenario interface {
	Name() string
	Run(ctx context.Context, c *Client) (Result, error)
}

// Load says how hard and how long a scenario drives the server.
type Load struct {
	// Concurrency is the number of operations in flight at once.
	Concurrency int
	// Duration bounds the timed phase when Count is 0.
	Duration time.Duration
	// Count, when positive, is the total number of operations to run,
	// whatever the time it takes.
	Count int64
}

func (l Load) concurrency() int { return max(l.Concurrency, 1) }

// Result is what one scenario measured.
type Result struct {
	Scenario string
	// Ops counts operations that succeeded; an operation is one RPC (one
	// ByteStream stream, one batch request).
	Ops int64
	// Items counts the things the successful operations carried, when that
	// differs from Ops: blobs in batch requests, digests in FindMissing.
	Items int64
	// Bytes counts the blob bytes moved by successful operations.
	Bytes  int64
	Errors int64
	// FirstError describes the first failed operation, to tell a broken
	// setup from a flaky server.
	FirstError string
	// Hits and Misses are set by lookup scenarios (action cache).
	Hits, Misses int64
	// Concurrency is the number of workers that drove the load.
	Concurrency int
	// Elapsed is the wall time of the timed phase.
	Elapsed time.Duration
	// GeneratorTime is the time the workers spent making blobs and requests
	// within the timed phase, summed over workers. It is excluded from the
	// rates and from the latency samples.
	GeneratorTime time.Duration
	// Latency summarises the duration of the successful operations.
	Latency LatencySummary
	// Notes are short remarks for a human reader (generator cost, sizes).
	Notes []string
}

// measured is the time the rates are computed over: the wall time minus the
// share of it that each worker spent generating data.
func (r Result) measured() time.Duration {
	d := r.Elapsed - r.GeneratorTime/time.Duration(max(r.Concurrency, 1))
	if d <= 0 {
		return r.Elapsed
	}
	return d
}

// OpsPerSecond is the rate of successful operations.
func (r Result) OpsPerSecond() float64 { return perSecond(float64(r.Ops), r.measured()) }

// ItemsPerSecond is the rate of items (blobs, digests) carried.
func (r Result) ItemsPerSecond() float64 { return perSecond(float64(r.Items), r.measured()) }

// MBPerSecond is the blob throughput in megabytes (10^6 bytes) per second.
func (r Result) MBPerSecond() float64 { return perSecond(float64(r.Bytes)/1e6, r.measured()) }

func perSecond(n float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return n / d.Seconds()
}
