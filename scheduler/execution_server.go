package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/actioncache"
)

const (
	// streamKeepalive is how often an idle Execute or WaitExecution
	// stream repeats the current state, so that proxies do not cut it.
	streamKeepalive = 30 * time.Second
	// cacheLookupTimeout bounds the action cache lookup; past it the
	// lookup counts as a miss rather than leaving joined clients waiting.
	cacheLookupTimeout = 30 * time.Second
)

// executionServer is the REAPI Execution service.
type executionServer struct {
	repb.UnimplementedExecutionServer
	s *Scheduler
}

// Execute validates the request, merges it with identical in-flight work
// or creates an operation, checks the action cache and streams the
// operation until it completes (checklist items 25–33). The operation does
// not depend on this call: if the client goes away it runs on, and
// WaitExecution picks it up again.
func (x *executionServer) Execute(req *repb.ExecuteRequest, stream repb.Execution_ExecuteServer) error {
	s := x.s
	ctx := stream.Context()
	p, err := s.prepare(ctx, req)
	if err != nil {
		s.log.Debug("execute rejected", "instance", req.GetInstanceName(), "action", req.GetActionDigest().GetHash(), "err", err)
		return toStatus(err)
	}
	op, join := s.newOperation(p, time.Now())
	got, joined, err := s.state.Create(ctx, op, join)
	if err != nil {
		return toStatus(fmt.Errorf("creating an operation for %s: %w", p.action, err))
	}
	s.log.Debug("execute", "operation", got.Name, "action", p.action, "joined", joined, "stage", got.Stage)
	var sent int64
	if !joined && got.Stage == repb.ExecutionStage_CACHE_CHECK {
		// Show the client its operation first; if it is gone already,
		// the lookup and the queueing still happen for whoever joins.
		if pb, err := operationProto(&got); err == nil && stream.Send(pb) == nil {
			sent = got.Version
		}
		s.checkCache(detached(ctx), got)
	}
	return s.watch(ctx, got.ID, sent, stream.Send)
}

// WaitExecution answers at once with the current state of the operation and
// streams it until it completes (checklist item 41).
func (x *executionServer) WaitExecution(req *repb.WaitExecutionRequest, stream repb.Execution_WaitExecutionServer) error {
	op, err := x.s.lookupOperation(stream.Context(), req.GetName())
	if err != nil {
		return err
	}
	return x.s.watch(stream.Context(), op.ID, 0, stream.Send)
}

// lookupOperation finds an operation by the name a client holds; unknown,
// expired and malformed names are all NOT_FOUND, on which Bazel calls
// Execute again.
func (s *Scheduler) lookupOperation(ctx context.Context, name string) (Operation, error) {
	id, ok := operationIDFromName(name)
	if !ok {
		return Operation{}, status.Errorf(codes.NotFound, "operation %q does not exist: not an operation name of this server", name)
	}
	op, err := s.state.Get(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && op.Name != name {
		return Operation{}, status.Errorf(codes.NotFound, "operation %q does not exist (unknown, or finished more than %v ago)", name, s.opts.CompletedRetention)
	}
	if err != nil {
		return Operation{}, toStatus(err)
	}
	return op, nil
}

// checkCache looks the action up in the action cache and then either
// completes the operation with the cached result or queues it.
func (s *Scheduler) checkCache(ctx context.Context, op Operation) {
	lookupCtx, cancel := context.WithTimeout(ctx, cacheLookupTimeout)
	res, err := s.opts.ActionCache.Get(lookupCtx, actioncache.Key{Instance: op.Instance, Action: op.Action})
	cancel()
	if err != nil && !errors.Is(err, actioncache.ErrNotFound) {
		s.log.Warn("action cache lookup failed; executing", "action", op.Action, "err", err)
	}
	hit := err == nil && res != nil
	now := time.Now()
	_, err = s.state.Update(ctx, op.ID, func(o *Operation) error {
		if o.Stage != repb.ExecutionStage_CACHE_CHECK {
			return errStale // cancelled meanwhile
		}
		if hit {
			finish(o, &repb.ExecuteResponse{Result: res, CachedResult: true, Status: &statuspb.Status{}}, now)
			return nil
		}
		o.Stage = repb.ExecutionStage_QUEUED
		o.QueuedAt, o.EnqueuedAt = now, now
		return nil
	})
	switch {
	case err == nil && hit:
		s.metrics.finished(resultCacheHit)
	case err != nil && !errors.Is(err, errStale):
		s.log.Error("recording the cache lookup", "operation", op.Name, "err", err)
	}
}

// watch sends the operation whenever it changes (and every
// streamKeepalive) until it is done. sent is the version the client has.
func (s *Scheduler) watch(ctx context.Context, id string, sent int64, send func(*longrunningpb.Operation) error) error {
	keepalive := time.NewTicker(streamKeepalive)
	defer keepalive.Stop()
	for {
		changed, err := s.state.OperationChanged(ctx, id)
		if err != nil {
			return toStatus(err)
		}
		op, err := s.state.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return status.Errorf(codes.NotFound, "operation %s no longer exists", id)
		}
		if err != nil {
			return toStatus(err)
		}
		if op.Version != sent {
			pb, err := operationProto(&op)
			if err != nil {
				return toStatus(err)
			}
			if err := send(pb); err != nil {
				return err
			}
			sent = op.Version
		}
		if op.Done() {
			return nil
		}
		select {
		case <-changed:
		case <-keepalive.C:
			sent = 0
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-s.closing:
			return status.Errorf(codes.Unavailable, "scheduler is shutting down; retry (WaitExecution %s, or Execute)", op.Name)
		}
	}
}
