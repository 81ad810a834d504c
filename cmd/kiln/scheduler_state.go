package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/kilnbuild/kiln/internal/config"
	"github.com/kilnbuild/kiln/scheduler"
	"github.com/kilnbuild/kiln/scheduler/redisstate"
)

// schedulerStateKeys is what the scheduler's keys add to redis.prefix. The
// hash tag keeps them in one Redis Cluster slot, which redisstate's
// multi-key scripts need; with the default prefix the keys are
// redisstate.DefaultPrefix.
const schedulerStateKeys = "{scheduler}:"

// openSchedulerState returns the State of scheduler.state: nil for memory
// (the scheduler then makes its own), or a redisstate.State on the shared
// Redis client, so that every replica on that Redis serves any client and
// any worker.
//
// The State joins b's closers after the client, so b.Close closes it
// before the client it stands on; runNode closes the scheduler before b.
func (b *backends) openSchedulerState(ctx context.Context, cfg config.Config, logger *slog.Logger) (scheduler.State, error) {
	s := cfg.Scheduler
	switch s.State {
	case config.SchedulerStateMemory:
		return nil, nil
	case config.SchedulerStateRedis:
	default:
		return nil, fmt.Errorf("scheduler.state: unknown state %q", s.State)
	}
	client, err := b.redisClient(ctx, cfg.Redis)
	if err != nil {
		return nil, err
	}
	checkCtx, cancel := context.WithTimeout(ctx, startupCheckTimeout)
	defer cancel()
	state, err := redisstate.New(checkCtx, client, redisstate.Options{
		Prefix: cfg.Redis.Prefix + schedulerStateKeys,
		// The sweeper forgets completed operations at this age; the TTL
		// does it while no replica runs.
		CompletedRetention: s.CompletedRetention,
		// A registry entry must outlive the scheduler's own idea of a
		// live worker (2 polls and a lease by default), or a worker
		// between polls would vanish from the registry.
		WorkerTTL: max(redisstate.DefaultWorkerTTL, 2*(2*s.PollTimeout+s.LeaseDuration)),
		Logger:    logger,
	})
	if err != nil {
		return nil, fmt.Errorf("scheduler.state: redis at %s: %w", cfg.Redis.Address, err)
	}
	b.closers = append(b.closers, state.Close)
	return state, nil
}
