package worker

import (
	"context"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/actioncache"
)

// ActionCacheWriter is where the worker records the results of cacheable
// actions. An actioncache.Store satisfies it: the server's own store for a
// worker inside the server process, actioncache.GRPCStore for a separate
// worker process.
type ActionCacheWriter interface {
	Put(ctx context.Context, k actioncache.Key, r *repb.ActionResult) error
}

// NewActionCacheClientWriter returns an ActionCacheWriter that calls
// UpdateActionResult on c. It is actioncache.NewGRPCStore, kept for
// callers that only write.
func NewActionCacheClientWriter(c repb.ActionCacheClient) ActionCacheWriter {
	return actioncache.NewGRPCStore(c)
}
