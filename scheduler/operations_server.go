package scheduler

import (
	"context"
	"errors"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// operationsServer is the google.longrunning Operations service for
// execution operations (checklist item 42). ListOperations,
// DeleteOperation and WaitOperation stay UNIMPLEMENTED, as REAPI allows.
type operationsServer struct {
	longrunningpb.UnimplementedOperationsServer
	s *Scheduler
}

// GetOperation returns the current state of an operation.
func (o *operationsServer) GetOperation(ctx context.Context, req *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	op, err := o.s.lookupOperation(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	pb, err := operationProto(&op)
	if err != nil {
		return nil, toStatus(err)
	}
	return pb, nil
}

// CancelOperation completes an unfinished operation with a CANCELLED
// status. A queued action leaves its queue; a running one's worker finds
// its lease among the abandoned ones at its next heartbeat. Every client
// merged into the operation sees the cancellation.
func (o *operationsServer) CancelOperation(ctx context.Context, req *longrunningpb.CancelOperationRequest) (*emptypb.Empty, error) {
	s := o.s
	op, err := s.lookupOperation(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	now := time.Now()
	_, err = s.state.Update(ctx, op.ID, func(op *Operation) error {
		if op.Done() {
			return errStale
		}
		finish(op, failedResponse(codes.Canceled, "operation cancelled by a client"), now)
		return nil
	})
	switch {
	case errors.Is(err, errStale):
		// Already finished: cancelling is best effort, nothing to do.
	case errors.Is(err, ErrNotFound):
		return nil, status.Errorf(codes.NotFound, "operation %q does not exist", req.GetName())
	case err != nil:
		return nil, toStatus(err)
	default:
		s.metrics.finished(resultCancelled)
		s.log.Info("operation cancelled", "operation", op.Name)
	}
	return &emptypb.Empty{}, nil
}
