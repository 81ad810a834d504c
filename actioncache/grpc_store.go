package actioncache

import (
	"context"
	"fmt"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// GRPCStore is a Store backed by a remote REAPI ActionCache service
// (Kiln's or any other). A scheduler or worker that runs apart from the
// action cache uses it. It does no completeness checking of its own: the
// remote service is expected to do that (Kiln's does).
type GRPCStore struct {
	c repb.ActionCacheClient
}

var _ Store = (*GRPCStore)(nil)

// NewGRPCStore returns a Store that calls GetActionResult and
// UpdateActionResult on c. Keys carry their instance name and digest
// function into every request.
func NewGRPCStore(c repb.ActionCacheClient) *GRPCStore { return &GRPCStore{c: c} }

// Get implements Store. NOT_FOUND from the service wraps ErrNotFound.
func (s *GRPCStore) Get(ctx context.Context, k Key) (*repb.ActionResult, error) {
	r, err := s.c.GetActionResult(ctx, &repb.GetActionResultRequest{
		InstanceName:   k.Instance,
		ActionDigest:   k.Action.Proto(),
		DigestFunction: k.Action.Function,
	})
	if status.Code(err) == codes.NotFound {
		return nil, fmt.Errorf("action %s: %w", k.Action, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("getting action result of %s: %w", k.Action, err)
	}
	return r, nil
}

// Put implements Store with UpdateActionResult.
func (s *GRPCStore) Put(ctx context.Context, k Key, r *repb.ActionResult) error {
	_, err := s.c.UpdateActionResult(ctx, &repb.UpdateActionResultRequest{
		InstanceName:   k.Instance,
		ActionDigest:   k.Action.Proto(),
		ActionResult:   r,
		DigestFunction: k.Action.Function,
	})
	if err != nil {
		return fmt.Errorf("updating action result of %s: %w", k.Action, err)
	}
	return nil
}
