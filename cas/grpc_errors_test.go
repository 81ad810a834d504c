package cas

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/internal/digest"
	"github.com/kilnbuild/kiln/internal/resourcename"
)

func TestGRPCCode(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("reading x: %w", err) }
	for _, tc := range []struct {
		err  error
		want codes.Code
	}{
		{nil, codes.OK},
		{wrap(ErrNotFound), codes.NotFound},
		{wrap(digest.ErrMismatch), codes.InvalidArgument},
		{wrap(digest.ErrInvalid), codes.InvalidArgument},
		{wrap(resourcename.ErrInvalid), codes.InvalidArgument},
		{wrap(errBadCompressedData), codes.InvalidArgument},
		{wrap(errWriteOffset), codes.InvalidArgument},
		{wrap(errUploadAborted), codes.Aborted},
		{wrap(errShortBlob), codes.DataLoss},
		{wrap(ErrTooLarge), codes.ResourceExhausted},
		{wrap(context.Canceled), codes.Canceled},
		{wrap(context.DeadlineExceeded), codes.DeadlineExceeded},
		{wrap(status.Error(codes.Unavailable, "backend down")), codes.Unavailable},
		{errors.New("disk on fire"), codes.Internal},
	} {
		if got := grpcCode(tc.err); got != tc.want {
			t.Errorf("grpcCode(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if msg := status.Convert(grpcError(wrap(ErrNotFound))).Message(); msg != "reading x: blob not found" {
		t.Errorf("message %q does not carry the error's text", msg)
	}
}
