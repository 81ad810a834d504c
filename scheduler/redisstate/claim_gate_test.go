package redisstate

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

func TestGateSharesOneQueueKeysAmongOverlappingCallers(t *testing.T) {
	g := newClaimGate(4)
	var calls atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{})
	list := func() ([]string, error) {
		if calls.Add(1) == 1 {
			close(started)
			<-release
		}
		return []string{"a", "b"}, nil
	}
	var wg sync.WaitGroup
	results := make([][]string, 5)
	wg.Go(func() { results[0], _ = g.queueKeys(context.Background(), list) })
	<-started
	for i := 1; i < 5; i++ {
		wg.Go(func() { results[i], _ = g.queueKeys(context.Background(), list) })
	}
	// The followers join only while the leader's request is in flight;
	// wait until they are all parked on it.
	for !g.waitingOnKeys(4) {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("list ran %d times for overlapping callers, want 1", n)
	}
	for i, r := range results {
		if !slices.Equal(r, []string{"a", "b"}) {
			t.Errorf("caller %d got %v", i, r)
		}
	}
	results[0][0] = "changed"
	if results[1][0] != "a" {
		t.Errorf("callers share one slice")
	}
}

func TestGateDoesNotShareAcrossQueuedWork(t *testing.T) {
	g := newClaimGate(4)
	var calls atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{})
	list := func() ([]string, error) {
		if calls.Add(1) == 1 {
			close(started)
			<-release
			return nil, nil
		}
		return []string{"new"}, nil
	}
	done := make(chan struct{})
	go func() { g.queueKeys(context.Background(), list); close(done) }()
	<-started
	g.workQueued() // work queued after the leader's request was sent
	got, _ := g.queueKeys(context.Background(), list)
	if !slices.Equal(got, []string{"new"}) || calls.Load() != 2 {
		t.Errorf("a caller after queued work got %v from %d calls; want its own request", got, calls.Load())
	}
	close(release)
	<-done
}

func TestGateAnswersKnownEmptyQueuesLocally(t *testing.T) {
	g := newClaimGate(4)
	ctx := context.Background()
	tries := 0
	empty := func() (bool, error) { tries++; return false, nil }
	g.claim(ctx, []string{"a", "b"}, empty)
	if found, _ := g.claim(ctx, []string{"b"}, empty); found || tries != 1 {
		t.Errorf("claim of a queue found empty: found %v after %d tries, want 1 try", found, tries)
	}
	g.claim(ctx, []string{"b", "c"}, empty)
	if tries != 2 {
		t.Errorf("a queue not known to be empty was not tried")
	}
	g.workQueued()
	g.claim(ctx, []string{"a"}, empty)
	if tries != 3 {
		t.Errorf("after work was queued, the claim was answered from before")
	}
}

func TestGateForgetsEmptinessSeenWhileWorkWasQueued(t *testing.T) {
	g := newClaimGate(4)
	ctx := context.Background()
	tries := 0
	g.claim(ctx, []string{"a"}, func() (bool, error) {
		tries++
		g.workQueued() // its message arrived while the claim ran
		return false, nil
	})
	g.claim(ctx, []string{"a"}, func() (bool, error) { tries++; return true, nil })
	if tries != 2 {
		t.Errorf("an empty answer that raced with queued work was reused")
	}
}

func TestGateBoundsConcurrentClaims(t *testing.T) {
	const limit = 3
	g := newClaimGate(limit)
	var running, most atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			g.claim(context.Background(), []string{"k"}, func() (bool, error) {
				n := running.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				<-release
				running.Add(-1)
				return true, nil
			})
		})
	}
	for running.Load() < limit {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if most.Load() != limit {
		t.Errorf("%d claims ran at once, want %d", most.Load(), limit)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range limit {
		g.slots <- struct{}{}
	}
	if found, err := g.claim(ctx, []string{"k"}, func() (bool, error) { t.Error("tried"); return true, nil }); found || err != nil {
		t.Errorf("claim with every slot taken and ctx done = %v, %v", found, err)
	}
}

// waitingOnKeys reports whether n callers wait on the in-flight
// QueueKeys; for tests.
func (g *claimGate) waitingOnKeys(n int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.keys != nil && g.keysWaiters >= n
}
