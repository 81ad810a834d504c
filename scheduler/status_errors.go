package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/internal/digest"
)

// invalidArgumentError is a client mistake; its message is what the client
// reads in the INVALID_ARGUMENT status.
type invalidArgumentError struct{ msg string }

func (e *invalidArgumentError) Error() string { return e.msg }

func invalidf(format string, args ...any) error {
	return &invalidArgumentError{msg: fmt.Sprintf(format, args...)}
}

// missingBlobsError lists the blobs an Execute needs that the CAS lacks.
// It becomes FAILED_PRECONDITION with one MISSING violation per blob, on
// which Bazel uploads them and retries (checklist item 27).
type missingBlobsError struct{ digests []digest.Digest }

func (e *missingBlobsError) Error() string {
	s := make([]string, 0, min(len(e.digests), 5))
	for i, d := range e.digests {
		if i == 5 {
			s = append(s, fmt.Sprintf("and %d more", len(e.digests)-5))
			break
		}
		s = append(s, d.String())
	}
	return fmt.Sprintf("%d blobs needed by the action are missing from the CAS: %s", len(e.digests), strings.Join(s, ", "))
}

// missingSubject formats a digest as a PreconditionFailure subject:
// "blobs/{function/}{hash}/{size}", the function only when it is not one a
// client may leave implicit.
func missingSubject(d digest.Digest) string {
	if digest.IsLegacy(d.Function) {
		return "blobs/" + d.String()
	}
	return "blobs/" + digest.FunctionName(d.Function) + "/" + d.String()
}

// toStatus turns an error of the scheduler into the gRPC status a client
// gets. Errors that are already statuses pass unchanged.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var invalid *invalidArgumentError
	var missing *missingBlobsError
	switch {
	case errors.As(err, &invalid), errors.Is(err, digest.ErrInvalid):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.As(err, &missing):
		return missingStatus(missing)
	case errors.Is(err, ErrUnavailable):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	return status.Error(codes.Internal, err.Error())
}

func missingStatus(e *missingBlobsError) error {
	pf := &errdetails.PreconditionFailure{}
	for _, d := range e.digests {
		pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{
			Type:        "MISSING",
			Subject:     missingSubject(d),
			Description: "blob is not in the CAS; upload it and retry",
		})
	}
	st, err := status.New(codes.FailedPrecondition, e.Error()).WithDetails(pf)
	if err != nil {
		return status.Error(codes.FailedPrecondition, e.Error())
	}
	return st.Err()
}
