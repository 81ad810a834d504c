package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/codes"
)

// sweepLoop runs the periodic checks until Close. Each check is written so
// that several replicas running it at once do no harm: every change is
// conditional on the state it found.
func (s *Scheduler) sweepLoop() {
	t := time.NewTicker(s.opts.SweepInterval)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.closing
		cancel()
	}()
	for {
		select {
		case <-s.closing:
			return
		case now := <-t.C:
			s.sweep(ctx, now)
		}
	}
}

func (s *Scheduler) sweep(ctx context.Context, now time.Time) {
	s.expireLeases(ctx, now)
	s.failUnrunnable(ctx, now)
	s.collectGarbage(ctx, now)
}

// expireLeases puts actions whose worker stopped renewing back in their
// queue, or fails them with UNAVAILABLE once MaxAttempts leases were lost.
func (s *Scheduler) expireLeases(ctx context.Context, now time.Time) {
	refs, err := s.state.ExpiredLeases(ctx, now)
	if err != nil {
		s.log.Warn("listing expired leases", "err", err)
		return
	}
	for _, ref := range refs {
		var failed bool
		op, err := s.state.Update(ctx, ref.OperationID, func(op *Operation) error {
			if !op.Executing() || op.Lease.ID != ref.LeaseID || op.Lease.Expiry.After(now) {
				return errStale // completed, or renewed meanwhile
			}
			op.LostWorkers = append(op.LostWorkers, op.Lease.WorkerID)
			failed = int(op.Attempt) >= s.opts.MaxAttempts
			if failed {
				msg := fmt.Sprintf("action %s was lost %d times: workers %s stopped renewing their leases",
					op.Action, len(op.LostWorkers), strings.Join(op.LostWorkers, ", "))
				finish(op, failedResponse(codes.Unavailable, msg), now)
				return nil
			}
			op.Stage = repb.ExecutionStage_QUEUED
			op.EnqueuedAt = now
			return nil
		})
		switch {
		case errors.Is(err, errStale), errors.Is(err, ErrNotFound):
		case err != nil:
			s.log.Warn("expiring a lease", "lease", ref.LeaseID, "err", err)
		case failed:
			s.metrics.finished(resultLost)
			s.log.Warn("operation failed: leases lost", "operation", op.Name, "workers", op.LostWorkers)
		default:
			s.log.Info("lease expired; action requeued", "operation", op.Name, "worker", op.LostWorkers[len(op.LostWorkers)-1], "attempt", op.Attempt)
		}
	}
}

// failUnrunnable fails queued actions that waited longer than MaxQueueAge,
// and those no live worker can run after NoWorkerGrace (checklist item
// 38): better a clear error than a build that hangs.
func (s *Scheduler) failUnrunnable(ctx context.Context, now time.Time) {
	keys, err := s.state.QueueKeys(ctx)
	if err != nil {
		s.log.Warn("listing queues", "err", err)
		return
	}
	var workers []Worker
	if len(keys) > 0 {
		if workers, err = s.state.LiveWorkers(ctx, now.Add(-s.opts.WorkerTTL)); err != nil {
			s.log.Warn("listing workers", "err", err)
			return
		}
	}
	for _, key := range keys {
		platform, err := s.keys.platform(key)
		if err != nil {
			s.log.Error("malformed platform key", "key", key, "err", err)
			continue
		}
		old, err := s.state.QueuedBefore(ctx, key, now.Add(-s.opts.MaxQueueAge))
		if err != nil {
			s.log.Warn("listing old queued work", "err", err)
			continue
		}
		for _, id := range old {
			msg := fmt.Sprintf("action waited in the queue for more than %v without a worker taking it (platform [%s])", s.opts.MaxQueueAge, platform)
			s.failQueued(ctx, id, codes.Unavailable, msg, resultQueueExpiry, now)
		}
		if anyWorkerSatisfies(workers, platform) {
			continue
		}
		waiting, err := s.state.QueuedBefore(ctx, key, now.Add(-s.opts.NoWorkerGrace))
		if err != nil {
			s.log.Warn("listing queued work", "err", err)
			continue
		}
		if len(waiting) == 0 {
			continue
		}
		msg := explainUnmatched(workers, platform) + fmt.Sprintf(" (waited %v for one to appear)", s.opts.NoWorkerGrace)
		for _, id := range waiting {
			s.failQueued(ctx, id, codes.FailedPrecondition, msg, resultNoWorker, now)
		}
	}
}

// collectGarbage forgets operations finished longer than CompletedRetention
// ago and workers not seen for a while.
func (s *Scheduler) collectGarbage(ctx context.Context, now time.Time) {
	if n, err := s.state.DeleteCompleted(ctx, now.Add(-s.opts.CompletedRetention)); err != nil {
		s.log.Warn("deleting finished operations", "err", err)
	} else if n > 0 {
		s.log.Debug("deleted finished operations", "count", n)
	}
	if err := s.state.ForgetWorkers(ctx, now.Add(-2*s.opts.WorkerTTL)); err != nil {
		s.log.Warn("forgetting workers", "err", err)
	}
}
