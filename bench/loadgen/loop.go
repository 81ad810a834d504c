package loadgen

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// maxErrors stops a timed phase early: once this many operations failed, the
// rest would only measure how fast the server says no.
const maxErrors = 100

// sample is what one operation reports to the loop.
type sample struct {
	// latency is the duration of the RPC alone, measured by the operation
	// so that preparing its data is not part of it.
	latency time.Duration
	// generator is the time the operation spent making its data.
	generator time.Duration
	bytes     int64
	items     int64
	hit, miss bool
}

// operation runs the seq-th operation of a timed phase. seq counts from 0
// across all workers, so operations can pick distinct or cycling inputs.
type operation func(ctx context.Context, seq int64) (sample, error)

// drive runs op on load.Concurrency workers until load.Count operations were
// started or load.Duration has passed, and gathers what they report into a
// Result. Operations in flight when the time is up finish and count; only
// cancelling ctx cuts them short.
func drive(ctx context.Context, name string, load Load, op operation) Result {
	workers := load.concurrency()
	var (
		next    atomic.Int64
		stop    atomic.Bool
		errs    atomic.Int64
		mu      sync.Mutex
		res     = Result{Scenario: name, Concurrency: workers}
		samples []time.Duration
		wg      sync.WaitGroup
	)
	if load.Count <= 0 {
		timer := time.AfterFunc(load.Duration, func() { stop.Store(true) })
		defer timer.Stop()
	}
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local Result
			var lat []time.Duration
			for !stop.Load() && ctx.Err() == nil {
				seq := next.Add(1) - 1
				if load.Count > 0 && seq >= load.Count {
					break
				}
				s, err := op(ctx, seq)
				local.GeneratorTime += s.generator
				if err != nil {
					if errs.Add(1) == 1 {
						mu.Lock()
						res.FirstError = err.Error()
						mu.Unlock()
					}
					if errs.Load() >= maxErrors {
						stop.Store(true)
					}
					continue
				}
				local.Ops++
				local.Bytes += s.bytes
				local.Items += s.items
				if s.hit {
					local.Hits++
				}
				if s.miss {
					local.Misses++
				}
				lat = append(lat, s.latency)
			}
			mu.Lock()
			defer mu.Unlock()
			res.Ops += local.Ops
			res.Bytes += local.Bytes
			res.Items += local.Items
			res.Hits += local.Hits
			res.Misses += local.Misses
			res.GeneratorTime += local.GeneratorTime
			samples = append(samples, lat...)
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Errors = errs.Load()
	res.Latency = Summarize(samples)
	return res
}
