package cas

import (
	"errors"
	"net"
	"net/http"

	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// unavailableError marks a GCS failure that is expected to pass (GCS
// overloaded or unreachable), so that clients see UNAVAILABLE, which they
// retry after the server's RetryInfo, rather than INTERNAL. It wraps the
// cause, which errors.Is and errors.As still see.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return e.err.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

// GRPCStatus lets status.FromError, and so the service edge, read the code.
func (e *unavailableError) GRPCStatus() *status.Status {
	return status.New(codes.Unavailable, e.err.Error())
}

// markTransient wraps err in unavailableError if GCS failing this way is
// worth a retry: rate limiting, a server error, or the network.
func markTransient(err error) error {
	var gerr *googleapi.Error
	var nerr net.Error
	switch {
	case errors.As(err, &gerr):
		if gerr.Code != http.StatusTooManyRequests && gerr.Code < 500 {
			return err
		}
	case errors.As(err, &nerr):
	default:
		if s, ok := status.FromError(err); !ok || s.Code() != codes.Unavailable {
			return err
		}
	}
	return &unavailableError{err: err}
}
