package loadgen

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestDriveRunsCountOperationsOnce(t *testing.T) {
	var mu sync.Mutex
	seen := map[int64]int{}
	res := drive(context.Background(), "t", Load{Concurrency: 4, Count: 1000}, func(ctx context.Context, seq int64) (sample, error) {
		mu.Lock()
		seen[seq]++
		mu.Unlock()
		return sample{latency: time.Duration(seq), bytes: 10, items: 2}, nil
	})
	if res.Ops != 1000 || res.Bytes != 10000 || res.Items != 2000 || res.Errors != 0 {
		t.Errorf("drive = %+v, want 1000 ops, 10000 bytes, 2000 items, no errors", res)
	}
	if len(seen) != 1000 {
		t.Errorf("%d distinct seqs, want 1000", len(seen))
	}
	for seq, n := range seen {
		if seq < 0 || seq >= 1000 || n != 1 {
			t.Errorf("seq %d ran %d times", seq, n)
		}
	}
	if res.Latency.Count != 1000 || res.Latency.Max != 999 {
		t.Errorf("latency %+v, want 1000 samples up to 999", res.Latency)
	}
}

func TestDriveCountsErrorsAndStopsAfterTooMany(t *testing.T) {
	res := drive(context.Background(), "t", Load{Concurrency: 2, Count: 10 * maxErrors}, func(ctx context.Context, seq int64) (sample, error) {
		if seq%2 == 0 {
			return sample{}, errors.New("boom")
		}
		return sample{hit: seq%4 == 1, miss: seq%4 == 3}, nil
	})
	if res.Errors < maxErrors || res.Errors > maxErrors+2 {
		t.Errorf("errors = %d, want to stop just after %d", res.Errors, maxErrors)
	}
	if res.FirstError != "boom" {
		t.Errorf("first error %q, want boom", res.FirstError)
	}
	if res.Ops+res.Errors >= 10*maxErrors {
		t.Errorf("ran all %d ops despite failures", res.Ops+res.Errors)
	}
	if res.Hits+res.Misses != res.Ops || res.Hits == 0 || res.Misses == 0 {
		t.Errorf("hits %d + misses %d, want both, summing to ops %d", res.Hits, res.Misses, res.Ops)
	}
}

func TestDriveStopsAfterDuration(t *testing.T) {
	res := drive(context.Background(), "t", Load{Concurrency: 2, Duration: 20 * time.Millisecond}, func(ctx context.Context, seq int64) (sample, error) {
		time.Sleep(time.Millisecond)
		return sample{}, nil
	})
	if res.Ops == 0 {
		t.Error("no operations ran")
	}
}

func TestRatesExcludeGeneratorTime(t *testing.T) {
	r := Result{Ops: 100, Bytes: 100e6, Concurrency: 2, Elapsed: 2 * time.Second, GeneratorTime: 2 * time.Second}
	// Each of the 2 workers spent 1 s of the 2 s generating: 1 s measured.
	if got := r.OpsPerSecond(); got != 100 {
		t.Errorf("OpsPerSecond = %v, want 100", got)
	}
	if got := r.MBPerSecond(); got != 100 {
		t.Errorf("MBPerSecond = %v, want 100", got)
	}
}
