package redisstate

import (
	"context"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// pruneInterval is how often waiters on operations that no longer exist are
// woken. OperationChanged and OutputChanged do not look operations up, so
// a WaitExecution of an unknown operation (common after Redis lost its
// data) would otherwise leave its waiter behind until the next reconnect.
const pruneInterval = time.Minute

const pruneBatch = 1000

func (s *State) pruneLoop(ctx context.Context) {
	t := time.NewTicker(pruneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.prune(ctx); err != nil && ctx.Err() == nil {
				s.opts.Logger.Debug("redis state: pruning waiters", "err", err)
			}
		}
	}
}

// prune wakes the waiters of operations that do not exist.
func (s *State) prune(ctx context.Context) error {
	ids := append(s.opChanged.waitingIDs(), s.outChanged.keys()...)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for batch := range slices.Chunk(ids, pruneBatch) {
		cmds := make([]*redis.IntCmd, len(batch))
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range batch {
				cmds[i] = p.Exists(ctx, s.opKey(id))
			}
			return nil
		})
		if err != nil {
			return wrapErr("pruning waiters", err)
		}
		for i, id := range batch {
			if cmds[i].Val() == 0 {
				s.opChanged.message("d:" + id)
				s.outChanged.fire(id)
			}
		}
	}
	return nil
}
