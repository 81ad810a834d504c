package cas

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestGCSFailuresWorthARetryAreUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for _, tc := range []struct {
		err  error
		want codes.Code
	}{
		{&googleapi.Error{Code: 503}, codes.Unavailable},
		{&googleapi.Error{Code: 429}, codes.Unavailable},
		{refused, codes.Unavailable},
		{&googleapi.Error{Code: 403, Message: "no access to the bucket"}, codes.Internal},
		{errors.New("something else"), codes.Internal},
	} {
		err := markTransient(fmt.Errorf("GCS CAS: reading x: %w", tc.err))
		if got := grpcCode(err); got != tc.want {
			t.Errorf("%v: code %v, want %v", tc.err, got, tc.want)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("%v: the cause is no longer wrapped", tc.err)
		}
		if s, _ := status.FromError(err); s.Message() != err.Error() {
			t.Errorf("status message %q, want the error's text", s.Message())
		}
	}
}
