package redisstate

import (
	"context"
	"slices"
	"sync"
)

// DefaultClaimConcurrency bounds the Claims one State sends to Redis at
// once.
const DefaultClaimConcurrency = 16

// claimGate spares Redis the thundering herd of idle workers. Every queued
// action wakes every poller (WorkAvailable is a broadcast), and each then
// lists the queues and tries to claim: with a thousand idle workers that
// was some 1,500 round trips per action. The gate lets one QueueKeys call
// answer all concurrent callers, lets at most a few Claims run at once, and
// answers a Claim locally when a real one found the same queues empty.
//
// Sharing an answer is safe only while no work has been queued since the
// answering request was sent. The epoch counts the signals that work was
// queued (a pub/sub message, this State's own enqueue, a reconnection). A
// caller takes its WorkAvailable channel before asking; work queued after
// the shared request read Redis raises the epoch when its message arrives,
// and if that was before the caller took its channel, the epoch had moved
// and the caller was not given the shared answer; if it was after, the
// message closes the caller's channel. Either way the caller looks again,
// just as if its own request had run a moment earlier.
type claimGate struct {
	slots chan struct{}

	mu          sync.Mutex
	epoch       uint64
	keys        *keysFlight
	keysWaiters int                 // callers parked on keys, for tests
	empty       map[string]struct{} // queues a Claim found empty in emptyEpoch
	emptyEpoch  uint64
}

type keysFlight struct {
	epoch uint64
	done  chan struct{}
	keys  []string
	err   error
}

func newClaimGate(concurrency int) *claimGate {
	return &claimGate{slots: make(chan struct{}, concurrency), empty: make(map[string]struct{})}
}

// workQueued raises the epoch: shared answers from before are stale.
func (g *claimGate) workQueued() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.epoch++
}

// queueKeys returns what list returns, sharing one call among the callers
// of the same epoch that overlap it.
func (g *claimGate) queueKeys(ctx context.Context, list func() ([]string, error)) ([]string, error) {
	g.mu.Lock()
	if f := g.keys; f != nil && f.epoch == g.epoch {
		g.keysWaiters++
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			g.keysWaiters--
			g.mu.Unlock()
		}()
		select {
		case <-f.done:
			return slices.Clone(f.keys), f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &keysFlight{epoch: g.epoch, done: make(chan struct{})}
	g.keys = f
	g.mu.Unlock()

	f.keys, f.err = list()
	close(f.done)
	g.mu.Lock()
	if g.keys == f {
		g.keys = nil
	}
	g.mu.Unlock()
	return slices.Clone(f.keys), f.err
}

// claim runs try (a real Claim) unless the queues were found empty in this
// epoch; found reports whether try leased something. It reports nothing
// found, without trying, when ctx ends while it waits for a slot.
func (g *claimGate) claim(ctx context.Context, keys []string, try func() (found bool, err error)) (bool, error) {
	if g.knownEmpty(keys) {
		return false, nil
	}
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return false, nil
	}
	defer func() { <-g.slots }()
	// Others may have found the queues empty while this one waited.
	g.mu.Lock()
	epoch := g.epoch
	g.mu.Unlock()
	if g.knownEmpty(keys) {
		return false, nil
	}
	found, err := try()
	if err == nil && !found {
		g.mu.Lock()
		if g.epoch == epoch { // nothing was queued while try ran
			if g.emptyEpoch != epoch {
				clear(g.empty)
				g.emptyEpoch = epoch
			}
			for _, k := range keys {
				g.empty[k] = struct{}{}
			}
		}
		g.mu.Unlock()
	}
	return found, err
}

func (g *claimGate) knownEmpty(keys []string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.emptyEpoch != g.epoch {
		return false
	}
	for _, k := range keys {
		if _, ok := g.empty[k]; !ok {
			return false
		}
	}
	return true
}
