package worker

import (
	"context"
	"fmt"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/actioncache"
)

// ActionCacheWriter is where the worker records the results of cacheable
// actions. An actioncache.Store satisfies it (a worker inside the server
// process); NewActionCacheClientWriter adapts a remote ActionCache service
// (a separate worker process).
type ActionCacheWriter interface {
	Put(ctx context.Context, k actioncache.Key, r *repb.ActionResult) error
}

// NewActionCacheClientWriter returns an ActionCacheWriter that calls
// UpdateActionResult on c.
func NewActionCacheClientWriter(c repb.ActionCacheClient) ActionCacheWriter {
	return actionCacheClientWriter{c}
}

type actionCacheClientWriter struct{ c repb.ActionCacheClient }

func (w actionCacheClientWriter) Put(ctx context.Context, k actioncache.Key, r *repb.ActionResult) error {
	_, err := w.c.UpdateActionResult(ctx, &repb.UpdateActionResultRequest{
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
