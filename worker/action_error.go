package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

// actionError is an error that decides the ExecuteResponse status of an
// action: the client's mistakes (INVALID_ARGUMENT), missing inputs
// (FAILED_PRECONDITION with the blobs to upload), bad outputs.
type actionError struct {
	code    codes.Code
	msg     string
	missing []digest.Digest
	err     error
}

func (e *actionError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *actionError) Unwrap() error { return e.err }

func invalidArgument(format string, args ...any) error {
	return &actionError{code: codes.InvalidArgument, msg: fmt.Sprintf(format, args...)}
}

func failedPrecondition(format string, args ...any) error {
	return &actionError{code: codes.FailedPrecondition, msg: fmt.Sprintf(format, args...)}
}

// missingBlobs is the error Bazel reacts to by uploading the blobs and
// executing again (checklist item 27).
func missingBlobs(ds []digest.Digest) error {
	names := make([]string, 0, min(len(ds), 3))
	for _, d := range ds[:min(len(ds), 3)] {
		names = append(names, d.String())
	}
	more := ""
	if len(ds) > 3 {
		more = fmt.Sprintf(" and %d more", len(ds)-3)
	}
	return &actionError{
		code:    codes.FailedPrecondition,
		msg:     fmt.Sprintf("%d input blob(s) missing from the CAS: %s%s", len(ds), strings.Join(names, ", "), more),
		missing: ds,
	}
}

// statusOf turns an error of the action's pipeline into the status of its
// ExecuteResponse.
func statusOf(err error) *spb.Status {
	if err == nil {
		return status.New(codes.OK, "").Proto()
	}
	var ae *actionError
	if errors.As(err, &ae) {
		st := status.New(ae.code, ae.Error())
		if len(ae.missing) > 0 {
			pf := &errdetails.PreconditionFailure{}
			for _, d := range ae.missing {
				pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{
					Type:    "MISSING",
					Subject: "blobs/" + d.String(),
				})
			}
			if withDetails, derr := st.WithDetails(pf); derr == nil {
				st = withDetails
			}
		}
		return st.Proto()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, err.Error()).Proto()
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, err.Error()).Proto()
	case errors.Is(err, cas.ErrNotFound):
		// Blobs that vanish midway (evicted between the existence
		// check and the read) are missing inputs too, without details.
		return status.New(codes.FailedPrecondition, err.Error()).Proto()
	}
	// A CAS or action cache that answered with a status: keep its code
	// (UNAVAILABLE makes Bazel retry), with our account of what failed.
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		return status.New(st.Code(), err.Error()).Proto()
	}
	return status.New(codes.Internal, err.Error()).Proto()
}
