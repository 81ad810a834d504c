package scheduler

import (
	"context"
	"errors"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
)

// errStale is returned by Update functions that find the operation no
// longer in the state they meant to change (another replica, the sweeper
// or a client got there first). It is not a failure.
var errStale = errors.New("operation changed meanwhile")

// finish marks op completed with resp; for use inside Update functions.
func finish(op *Operation, resp *repb.ExecuteResponse, now time.Time) {
	op.Stage = repb.ExecutionStage_COMPLETED
	op.Response = resp
	op.DoneAt = now
}

// failedResponse is the ExecuteResponse of an execution the scheduler ends
// itself. The message goes to both places a client may show.
func failedResponse(code codes.Code, msg string) *repb.ExecuteResponse {
	return &repb.ExecuteResponse{
		Status:  &statuspb.Status{Code: int32(code), Message: msg},
		Message: msg,
	}
}

// failQueued completes a still-queued operation with a failure. It reports
// whether it did (false when the operation left the queue meanwhile).
func (s *Scheduler) failQueued(ctx context.Context, id string, code codes.Code, msg, result string, now time.Time) bool {
	_, err := s.state.Update(ctx, id, func(op *Operation) error {
		if !op.Queued() {
			return errStale
		}
		finish(op, failedResponse(code, msg), now)
		return nil
	})
	if err != nil {
		if !errors.Is(err, errStale) && !errors.Is(err, ErrNotFound) {
			s.log.Warn("failing a queued operation", "operation", id, "err", err)
		}
		return false
	}
	s.metrics.finished(result)
	s.log.Info("operation failed in the queue", "operation", id, "reason", msg)
	return true
}
