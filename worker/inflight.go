package worker

import (
	"context"
	"sync"
)

// inflight runs one call per key at a time; callers that arrive while it
// runs wait for its result instead of starting their own (a minimal
// singleflight, so that two actions needing the same blob fetch it once).
type inflight[K comparable] struct {
	mu    sync.Mutex
	calls map[K]*flight
}

type flight struct {
	done chan struct{}
	err  error
}

// do runs fn for key unless a call for key is running, in which case it
// waits for that call's result or for ctx to end.
func (g *inflight[K]) do(ctx context.Context, key K, fn func() error) error {
	g.mu.Lock()
	if f, ok := g.calls[key]; ok {
		g.mu.Unlock()
		select {
		case <-f.done:
			return f.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if g.calls == nil {
		g.calls = make(map[K]*flight)
	}
	f := &flight{done: make(chan struct{})}
	g.calls[key] = f
	g.mu.Unlock()

	f.err = fn()
	g.mu.Lock()
	delete(g.calls, key)
	g.mu.Unlock()
	close(f.done)
	return f.err
}
