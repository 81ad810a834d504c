package actioncache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/internal/digest"
)

// maxViolations caps the MISSING violations sent back in one status. The
// details travel in the trailers, and gRPC clients (Bazel's Java one among
// them) reject trailers over 8 KiB; the message still gives the total.
const maxViolations = 50

// UpdateActionResult implements repb.ActionCacheServer. It stores a result
// only when it is well formed (INVALID_ARGUMENT otherwise) and every blob it
// refers to, the files inside its output trees included, is in the CAS
// (FAILED_PRECONDITION with one MISSING violation per blob otherwise).
// Results with a non-zero exit code are stored too: the client wrote them
// explicitly (checklist item 24; Execute itself never caches them).
//
// Contents inlined by the client are moved to the CAS and replaced by their
// digests, which keeps entries small; the API lets a server return an
// equivalent result rather than the same one.
func (s *Server) UpdateActionResult(ctx context.Context, req *repb.UpdateActionResultRequest) (*repb.ActionResult, error) {
	const method = "UpdateActionResult"
	if !s.opts.UpdateEnabled {
		s.metrics.count(method, resultDenied)
		return nil, status.Error(codes.PermissionDenied, "action cache updates are disabled on this server (update_enabled is false); results can only be written by remote execution")
	}
	key, err := resolveKey(req.GetInstanceName(), req.GetDigestFunction(), req.GetActionDigest())
	if err == nil {
		err = validateActionResult(key.Action.Function, req.GetActionResult())
	}
	if err != nil {
		s.metrics.count(method, resultInvalid)
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	r := proto.CloneOf(req.GetActionResult())
	if err := s.moveInlinedToCAS(ctx, key.Action.Function, r); err != nil {
		return nil, s.updateError(method, key, "storing inlined contents", err)
	}
	missing, err := s.missingReferences(ctx, key.Action.Function, r)
	if err != nil {
		return nil, s.updateError(method, key, "checking referenced blobs", err)
	}
	if len(missing) > 0 {
		s.metrics.count(method, resultMissingBlobs)
		return nil, missingBlobsStatus(missing)
	}
	if err := s.store.Put(ctx, key, r); err != nil {
		return nil, s.updateError(method, key, "storing the action result", err)
	}
	s.metrics.count(method, resultStored)
	return r, nil
}

// updateError counts and converts a failed update; client mistakes are
// INVALID_ARGUMENT, anything else is logged as the server's problem.
func (s *Server) updateError(method string, key Key, what string, err error) error {
	if errors.Is(err, digest.ErrInvalid) || errors.Is(err, errMalformedTree) || errors.Is(err, errTooManyReferences) {
		s.metrics.count(method, resultInvalid)
		return status.Errorf(codes.InvalidArgument, "%s: %v", what, err)
	}
	s.metrics.count(method, resultError)
	s.log.Error("updating action cache", "instance", key.Instance, "action", key.Action, "step", what, "err", err)
	return toStatus(what, err)
}

// missingReferences returns the blobs r refers to that the CAS lacks,
// output Trees first.
func (s *Server) missingReferences(ctx context.Context, fn digest.Function, r *repb.ActionResult) ([]digest.Digest, error) {
	refs, err := collectReferences(ctx, s.blobs, fn, r, s.opts.MaxReferencedBlobs)
	if err != nil {
		return nil, err
	}
	missing, err := findMissing(ctx, s.blobs, refs.blobs)
	if err != nil {
		return nil, err
	}
	return append(refs.missingTrees, missing...), nil
}

// moveInlinedToCAS uploads stdout_raw, stderr_raw and output file contents
// that a client sent along, after checking them against their digests (a
// missing stdout or stderr digest is computed), and clears them from r.
func (s *Server) moveInlinedToCAS(ctx context.Context, fn digest.Function, r *repb.ActionResult) error {
	put := func(what string, raw []byte, pd *repb.Digest) (*repb.Digest, error) {
		d := digest.OfBytes(fn, raw)
		if !isUnsetDigest(pd) {
			want, err := digest.FromProto(fn, pd)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			if want != d {
				return nil, fmt.Errorf("%s: %w: inlined contents hash to %s, not %s", what, digest.ErrMismatch, d, want)
			}
		}
		if err := s.blobs.Put(ctx, d, bytes.NewReader(raw)); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		return d.Proto(), nil
	}
	var err error
	if len(r.GetStdoutRaw()) > 0 {
		if r.StdoutDigest, err = put("stdout_raw", r.GetStdoutRaw(), r.GetStdoutDigest()); err != nil {
			return err
		}
	}
	if len(r.GetStderrRaw()) > 0 {
		if r.StderrDigest, err = put("stderr_raw", r.GetStderrRaw(), r.GetStderrDigest()); err != nil {
			return err
		}
	}
	for _, f := range r.GetOutputFiles() {
		if len(f.GetContents()) > 0 {
			if _, err := put(fmt.Sprintf("output file %q contents", f.GetPath()), f.GetContents(), f.GetDigest()); err != nil {
				return err
			}
		}
		f.Contents = nil
	}
	r.StdoutRaw, r.StderrRaw = nil, nil
	if isUnsetDigest(r.GetStdoutDigest()) {
		r.StdoutDigest = nil
	}
	if isUnsetDigest(r.GetStderrDigest()) {
		r.StderrDigest = nil
	}
	return nil
}

// missingBlobsStatus is the FAILED_PRECONDITION that names missing blobs the
// way Bazel understands (checklist item 27's form).
func missingBlobsStatus(missing []digest.Digest) error {
	var names []string
	pf := &errdetails.PreconditionFailure{}
	for i, d := range missing {
		if i < 3 {
			names = append(names, d.String())
		}
		if i < maxViolations {
			pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{
				Type:    "MISSING",
				Subject: "blobs/" + d.String(),
			})
		}
	}
	more := ""
	if len(missing) > len(names) {
		more = ", ..."
	}
	st := status.Newf(codes.FailedPrecondition, "%d blobs referenced by the action result are missing from the CAS: %s%s",
		len(missing), strings.Join(names, ", "), more)
	if withDetails, err := st.WithDetails(pf); err == nil {
		st = withDetails
	}
	return st.Err()
}
