package main

import (
	"context"
	"errors"
	"sync"
)

// runLayers runs every func of every layer at once, each until its context
// ends, and stops them in layer order: when ctx ends or any func fails, the
// first layer's context is cancelled, and each later layer's only once every
// func of the layers before it has returned. So `kiln up` stops its workers
// first (their actions are killed, not reported), then the scheduler (which
// ends long polls and operation streams), and only then the servers that
// those were talking through.
//
// A failure stops everything, since a half-working process is worse than
// none. The errors of all funcs are joined.
func runLayers(ctx context.Context, layers ...[]func(context.Context) error) error {
	stopping, stop := context.WithCancel(ctx)
	defer stop()

	var mu sync.Mutex
	var errs []error
	done := make([]sync.WaitGroup, len(layers))
	cancels := make([]context.CancelFunc, len(layers))
	for i, layer := range layers {
		// Detached from ctx: a layer ends when its turn comes, not
		// when the signal arrives.
		layerCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		cancels[i] = cancel
		for _, run := range layer {
			done[i].Go(func() {
				if err := run(layerCtx); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					stop()
				}
			})
		}
	}
	<-stopping.Done()
	for i := range layers {
		cancels[i]()
		done[i].Wait()
	}
	return errors.Join(errs...)
}

// untilDone adapts a component that has a Close but no Run: it waits for
// its turn to stop, then closes.
func untilDone(closeFn func() error) func(context.Context) error {
	return func(ctx context.Context) error {
		<-ctx.Done()
		return closeFn()
	}
}
