package server

import (
	"context"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// retryDelay is what Kiln asks clients to wait before retrying a call that
// failed for a passing reason. Bazel honours RetryInfo (checklist item 5)
// instead of its own exponential backoff, which starts at 100 ms: too eager
// for a server that just said it is overloaded.
const retryDelay = time.Second

// withRetryInfo attaches a RetryInfo detail to an UNAVAILABLE or
// RESOURCE_EXHAUSTED status that has none. Those are the codes that mean
// "try again later"; every other error is returned as it is.
func withRetryInfo(err error) error {
	st, ok := status.FromError(err)
	if !ok || (st.Code() != codes.Unavailable && st.Code() != codes.ResourceExhausted) {
		return err
	}
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.RetryInfo); ok {
			return err
		}
	}
	withInfo, detailErr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retryDelay)})
	if detailErr != nil {
		return err
	}
	return withInfo.Err()
}

func unaryRetryInfo(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	return resp, withRetryInfo(err)
}

func streamRetryInfo(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return withRetryInfo(handler(srv, ss))
}
