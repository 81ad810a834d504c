package actioncache

import (
	"context"
	"fmt"
	"io"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/internal/digest"
)

// inline fills the contents a GetActionResult request asked for (checklist
// item 22): stdout, stderr, then the listed output files in result order,
// each only if it still fits the budget. Contents nobody asked for are
// cleared, because the API says a server should not send them unasked.
// A referenced blob that vanished from the CAS wraps cas.ErrNotFound: the
// entry is no longer complete.
func (s *Server) inline(ctx context.Context, fn digest.Function, req *repb.GetActionResultRequest, r *repb.ActionResult) error {
	r.StdoutRaw, r.StderrRaw = nil, nil
	for _, f := range r.GetOutputFiles() {
		f.Contents = nil
	}
	budget := s.opts.MaxInlineBytes
	load := func(pd *repb.Digest) ([]byte, error) {
		if budget <= 0 || isUnsetDigest(pd) || pd.GetSizeBytes() > budget {
			return nil, nil
		}
		d, err := digest.FromProto(fn, pd)
		if err != nil {
			return nil, nil // a stored entry's problem; the client sees the digest as it is
		}
		b, err := s.readBlob(ctx, d)
		if err != nil {
			return nil, err
		}
		budget -= d.Size
		return b, nil
	}
	var err error
	if req.GetInlineStdout() {
		if r.StdoutRaw, err = load(r.GetStdoutDigest()); err != nil {
			return err
		}
	}
	if req.GetInlineStderr() {
		if r.StderrRaw, err = load(r.GetStderrDigest()); err != nil {
			return err
		}
	}
	if len(req.GetInlineOutputFiles()) == 0 {
		return nil
	}
	wanted := make(map[string]bool, len(req.GetInlineOutputFiles()))
	for _, p := range req.GetInlineOutputFiles() {
		wanted[p] = true
	}
	for _, f := range r.GetOutputFiles() {
		if wanted[f.GetPath()] {
			if f.Contents, err = load(f.GetDigest()); err != nil {
				return err
			}
		}
	}
	return nil
}

// readBlob reads all of d, which the caller has checked is small.
func (s *Server) readBlob(ctx context.Context, d digest.Digest) ([]byte, error) {
	if d.Size == 0 {
		return []byte{}, nil
	}
	rc, err := s.blobs.Get(ctx, d, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("inlining %s: %w", d, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, d.Size+1))
	if err != nil {
		return nil, fmt.Errorf("inlining %s: %w", d, err)
	}
	if int64(len(b)) != d.Size {
		return nil, fmt.Errorf("inlining %s: the CAS returned %d bytes", d, len(b))
	}
	return b, nil
}
