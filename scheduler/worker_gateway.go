package scheduler

import (
	"context"
	"errors"
	"io"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	workerpb "github.com/kilnbuild/kiln/proto/kiln/worker/v1"
)

// workerGateway serves the worker protocol (proto/kiln/worker/v1): workers
// pull work with long polls and hold it under leases.
type workerGateway struct {
	workerpb.UnimplementedWorkerGatewayServer
	s *Scheduler
}

// Poll records the worker, renews the leases it lists and waits up to
// PollTimeout for an action its platform can run.
func (g *workerGateway) Poll(ctx context.Context, req *workerpb.PollRequest) (*workerpb.PollResponse, error) {
	s := g.s
	info := req.GetWorker()
	if info.GetWorkerId() == "" {
		return nil, status.Error(codes.InvalidArgument, "worker.worker_id is empty")
	}
	now := time.Now()
	offers := make([]Property, len(info.GetPlatform()))
	for i, p := range info.GetPlatform() {
		offers[i] = Property{Name: p.GetName(), Value: p.GetValue()}
	}
	w := Worker{ID: info.GetWorkerId(), Offers: offers, Capacity: info.GetCapacity(), LastSeen: now}
	if err := s.state.RecordWorker(ctx, w); err != nil {
		return nil, toStatus(err)
	}
	// Poll has no field for abandoned leases; the next heartbeat says so.
	s.renewLeases(ctx, w.ID, req.GetLeaseIds(), now)

	pollCtx, cancel := context.WithTimeout(ctx, s.opts.PollTimeout)
	defer cancel()
	op, ok, err := s.claim(pollCtx, w.ID, newOfferSet(offers))
	if err != nil {
		return nil, toStatus(err)
	}
	if !ok {
		return &workerpb.PollResponse{}, nil
	}
	return &workerpb.PollResponse{Lease: leaseProto(&op)}, nil
}

// claim waits until an operation that offers can run is queued and leases
// it. Pollers sleep on the State's work signal, never spin. ok is false
// when ctx ends first.
func (s *Scheduler) claim(ctx context.Context, workerID string, offers offerSet) (Operation, bool, error) {
	for {
		work, err := s.state.WorkAvailable(ctx)
		if err != nil {
			return Operation{}, false, err
		}
		keys, err := s.state.QueueKeys(ctx)
		if err != nil {
			return Operation{}, false, err
		}
		if matching := s.keys.matching(keys, offers, s.log); len(matching) > 0 {
			now := time.Now()
			req := ClaimRequest{WorkerID: workerID, Token: newID(), Expiry: now.Add(s.opts.LeaseDuration)}
			op, ok, err := s.state.Claim(ctx, matching, req)
			if err != nil {
				return Operation{}, false, err
			}
			if ok {
				s.metrics.dispatchLatency.Observe(now.Sub(op.EnqueuedAt).Seconds())
				s.log.Debug("leased", "operation", op.Name, "worker", workerID, "attempt", op.Attempt)
				return op, true, nil
			}
		}
		select {
		case <-work:
		case <-ctx.Done():
			return Operation{}, false, nil
		case <-s.closing:
			return Operation{}, false, nil
		}
	}
}

func leaseProto(op *Operation) *workerpb.Lease {
	return &workerpb.Lease{
		LeaseId:         op.Lease.ID,
		OperationName:   op.Name,
		InstanceName:    op.Instance,
		DigestFunction:  int32(op.Action.Function),
		ActionHash:      op.Action.Hash,
		ActionSizeBytes: op.Action.Size,
		ExpireTime:      timestamppb.New(op.Lease.Expiry),
		Timeout:         durationpb.New(op.Timeout),
		DoNotCache:      op.DoNotCache,
		QueuedTime:      timestamppb.New(op.QueuedAt),
		Attempt:         op.Attempt,
	}
}

// Heartbeat renews the worker's leases and names those it must abandon:
// unknown, expired and given to another worker, or cancelled.
func (g *workerGateway) Heartbeat(ctx context.Context, req *workerpb.HeartbeatRequest) (*workerpb.HeartbeatResponse, error) {
	s := g.s
	if req.GetWorkerId() == "" {
		return nil, status.Error(codes.InvalidArgument, "worker_id is empty")
	}
	now := time.Now()
	// A worker not in the registry (forgotten, or polled another replica
	// before a restart) is recorded again by its next Poll.
	if err := s.state.TouchWorker(ctx, req.GetWorkerId(), now); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, toStatus(err)
	}
	abandon := s.renewLeases(ctx, req.GetWorkerId(), req.GetLeaseIds(), now)
	return &workerpb.HeartbeatResponse{
		AbandonLeaseIds: abandon,
		ExpireTime:      timestamppb.New(now.Add(s.opts.LeaseDuration)),
	}, nil
}

// renewLeases extends every lease of ids that workerID still holds and
// returns the others.
func (s *Scheduler) renewLeases(ctx context.Context, workerID string, ids []string, now time.Time) []string {
	var abandon []string
	expiry := now.Add(s.opts.LeaseDuration)
	for _, lid := range ids {
		opID, ok := LeaseOperationID(lid)
		if !ok {
			abandon = append(abandon, lid)
			continue
		}
		switch err := s.state.RenewLease(ctx, opID, lid, workerID, expiry); {
		case err == nil:
		case errors.Is(err, ErrLeaseNotHeld), errors.Is(err, ErrNotFound):
			abandon = append(abandon, lid)
		default:
			// Keep working: a State hiccup must not kill healthy actions.
			s.log.Warn("renewing a lease", "lease", lid, "worker", workerID, "err", err)
		}
	}
	return abandon
}

// Complete records the result of a leased action. Only the current lease
// may complete an operation; a late completion from a worker presumed lost
// is acknowledged and ignored.
func (g *workerGateway) Complete(ctx context.Context, req *workerpb.CompleteRequest) (*workerpb.CompleteResponse, error) {
	s := g.s
	lid := req.GetLeaseId()
	opID, ok := LeaseOperationID(lid)
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "lease_id %q is not a lease of this scheduler", lid)
	}
	resp := &repb.ExecuteResponse{}
	if req.GetExecuteResponse() == nil {
		return nil, status.Error(codes.InvalidArgument, "execute_response is missing")
	}
	if err := req.GetExecuteResponse().UnmarshalTo(resp); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "execute_response is not a build.bazel.remote.execution.v2.ExecuteResponse: %v", err)
	}
	if resp.GetStatus().GetCode() == 0 && resp.GetResult() == nil {
		return nil, status.Error(codes.InvalidArgument, "execute_response has an OK status but no result")
	}
	now := time.Now()
	op, err := s.state.Update(ctx, opID, func(op *Operation) error {
		if !op.Executing() || op.Lease.ID != lid || op.Lease.WorkerID != req.GetWorkerId() {
			return errStale
		}
		finish(op, relayedResponse(resp, op), now)
		return nil
	})
	switch {
	case errors.Is(err, errStale), errors.Is(err, ErrNotFound):
		s.log.Info("ignoring the completion of a lease no longer held", "lease", lid, "worker", req.GetWorkerId())
		return &workerpb.CompleteResponse{}, nil
	case err != nil:
		return nil, toStatus(err)
	}
	s.metrics.finished(resultOf(resp))
	s.log.Debug("completed", "operation", op.Name, "worker", req.GetWorkerId(), "exit_code", resp.GetResult().GetExitCode(), "status", resp.GetStatus().GetCode())
	return &workerpb.CompleteResponse{}, nil
}

// relayedResponse is the worker's response as clients get it. It is never a
// cache hit, and its metadata carries the queued timestamp that only the
// scheduler knows for sure (checklist item 40). It runs inside an Update
// function, so it must stay idempotent.
func relayedResponse(resp *repb.ExecuteResponse, op *Operation) *repb.ExecuteResponse {
	resp.CachedResult = false
	if resp.Status == nil {
		resp.Status = &statuspb.Status{}
	}
	if r := resp.GetResult(); r != nil {
		if r.ExecutionMetadata == nil {
			r.ExecutionMetadata = &repb.ExecutedActionMetadata{}
		}
		md := r.ExecutionMetadata
		if md.QueuedTimestamp == nil && !op.QueuedAt.IsZero() {
			md.QueuedTimestamp = timestamppb.New(op.QueuedAt)
		}
		if md.Worker == "" {
			md.Worker = op.Lease.WorkerID
		}
	}
	return resp
}

// PublishOutput buffers live output chunks of running actions for
// ByteStream readers. Chunks for leases no longer held are dropped.
func (g *workerGateway) PublishOutput(stream workerpb.WorkerGateway_PublishOutputServer) error {
	s := g.s
	ctx := stream.Context()
	for {
		chunk, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&workerpb.PublishOutputResponse{})
		}
		if err != nil {
			return err
		}
		var which OutputStream
		switch chunk.GetStream() {
		case workerpb.OutputChunk_STDOUT:
			which = Stdout
		case workerpb.OutputChunk_STDERR:
			which = Stderr
		default:
			return status.Errorf(codes.InvalidArgument, "output chunk stream must be STDOUT or STDERR, not %v", chunk.GetStream())
		}
		lid := chunk.GetLeaseId()
		opID, ok := LeaseOperationID(lid)
		if !ok {
			return status.Errorf(codes.InvalidArgument, "lease_id %q is not a lease of this scheduler", lid)
		}
		op, err := s.state.Get(ctx, opID)
		if errors.Is(err, ErrNotFound) || err == nil && (!op.Executing() || op.Lease.ID != lid) {
			continue
		}
		if err != nil {
			return toStatus(err)
		}
		if err := s.state.AppendOutput(ctx, opID, which, chunk.GetData()); err != nil && !errors.Is(err, ErrNotFound) {
			return toStatus(err)
		}
	}
}
