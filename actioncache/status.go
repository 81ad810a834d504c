package actioncache

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

// toStatus turns an internal error into the gRPC status the client sees,
// with what (the failed step) in front of the message.
func toStatus(what string, err error) error {
	msg := fmt.Sprintf("%s: %v", what, err)
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, msg)
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, msg)
	case errors.Is(err, ErrNotFound), errors.Is(err, cas.ErrNotFound):
		return status.Error(codes.NotFound, msg)
	case errors.Is(err, digest.ErrInvalid):
		return status.Error(codes.InvalidArgument, msg)
	}
	// A backend that speaks gRPC itself (a remote store) keeps its code.
	if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
		return status.Error(s.Code(), msg)
	}
	return status.Error(codes.Internal, msg)
}
