// Package actioncache owns the REAPI action cache: the Store interface, its
// backends, the completeness check that hides entries whose outputs are gone
// from the CAS, and the ActionCache gRPC service.
package actioncache

import (
	"context"
	"errors"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/internal/digest"
)

// ErrNotFound is wrapped by errors for action digests without an entry.
var ErrNotFound = errors.New("action result not found")

// Key names one action cache entry. Entries are partitioned by instance
// name: unlike CAS blobs they are claims, not content, and one instance must
// not be able to poison another's cache.
type Key struct {
	Instance string
	Action   digest.Digest
}

// Store maps action digests to results.
type Store interface {
	// Get returns the result stored for k, or an error wrapping ErrNotFound.
	Get(ctx context.Context, k Key) (*repb.ActionResult, error)
	// Put stores r for k, replacing any earlier entry. A Put is atomic: a
	// concurrent or later Get sees the old entry or the new one, whole.
	Put(ctx context.Context, k Key, r *repb.ActionResult) error
}
