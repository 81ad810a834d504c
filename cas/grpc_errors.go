package cas

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/internal/digest"
	"github.com/kilnbuild/kiln/internal/resourcename"
)

// grpcCode picks the status code a client sees for err. Inside the package
// errors are plain wrapped Go errors; only the service edge calls this.
func grpcCode(err error) codes.Code {
	switch {
	case err == nil:
		return codes.OK
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	}
	// A store that talks to another service may already speak gRPC; its
	// code (UNAVAILABLE, RESOURCE_EXHAUSTED, ...) tells clients whether to
	// retry, so it is kept.
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return codes.NotFound
	case errors.Is(err, digest.ErrInvalid), errors.Is(err, resourcename.ErrInvalid),
		errors.Is(err, errWriteOffset), errors.Is(err, errBadCompressedData):
		return codes.InvalidArgument
	case errors.Is(err, errUploadAborted):
		return codes.Aborted
	case errors.Is(err, ErrTooLarge):
		return codes.ResourceExhausted // the store's capacity, not the client's data, is the limit
	case errors.Is(err, errShortBlob):
		return codes.DataLoss
	}
	return codes.Internal
}

// grpcError turns err into a status error whose message is err's text.
func grpcError(err error) error {
	if err == nil {
		return nil
	}
	return status.Error(grpcCode(err), err.Error())
}
