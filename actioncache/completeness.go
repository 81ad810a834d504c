package actioncache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

// CompletenessOptions tune NewCompletenessChecking.
type CompletenessOptions struct {
	// MaxReferencedBlobs bounds the distinct blobs (files inside output
	// trees included) that one result may refer to; a result over it is
	// served as a miss, since it cannot be proven complete. 0 means
	// DefaultMaxReferencedBlobs.
	MaxReferencedBlobs int
	// Logger receives the reasons for entries hidden as broken; nil
	// discards them.
	Logger *slog.Logger
}

// completenessChecking hides entries whose outputs are gone from the CAS.
type completenessChecking struct {
	base  Store
	blobs cas.BlobStore
	opts  CompletenessOptions
	log   *slog.Logger
}

// NewCompletenessChecking returns a Store whose Get reports ErrNotFound for
// an entry that refers to any blob missing from blobs: an output file,
// stdout, stderr, an output Tree, or a file in any Directory of such a Tree
// (checklist item 21). A client served such an entry would fail to download
// it; a miss instead makes it run the action and write a fresh entry.
//
// Each Get reads the entry's Trees (streaming, so memory stays bounded by
// the number of referenced blobs, not the Tree size) and then asks the CAS
// about all referenced blobs in one FindMissing call, which also extends
// their lifetime for the client that is about to rely on them. Put is passed
// through unchanged.
func NewCompletenessChecking(base Store, blobs cas.BlobStore, opts CompletenessOptions) Store {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &completenessChecking{base: base, blobs: blobs, opts: opts, log: log}
}

// Get implements Store.
func (c *completenessChecking) Get(ctx context.Context, k Key) (*repb.ActionResult, error) {
	r, err := c.base.Get(ctx, k)
	if err != nil {
		return nil, err
	}
	refs, err := collectReferences(ctx, c.blobs, k.Action.Function, r, c.opts.MaxReferencedBlobs)
	if errors.Is(err, digest.ErrInvalid) || errors.Is(err, errMalformedTree) || errors.Is(err, errTooManyReferences) {
		// The entry can never be proven complete, so it is never served.
		c.log.Warn("hiding action cache entry that cannot be checked", "instance", k.Instance, "action", k.Action, "err", err)
		// %v, not %w: the stored entry is at fault, not the request.
		return nil, fmt.Errorf("action %s: %w: %v", k.Action, ErrNotFound, err)
	}
	if err != nil {
		return nil, fmt.Errorf("action %s: %w", k.Action, err)
	}
	if len(refs.missingTrees) > 0 {
		return nil, fmt.Errorf("action %s: output tree %s is missing from the CAS: %w", k.Action, refs.missingTrees[0], ErrNotFound)
	}
	missing, err := findMissing(ctx, c.blobs, refs.blobs)
	if err != nil {
		return nil, fmt.Errorf("action %s: %w", k.Action, err)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("action %s: %d referenced blobs are missing from the CAS, e.g. %s: %w", k.Action, len(missing), missing[0], ErrNotFound)
	}
	return r, nil
}

// Put implements Store.
func (c *completenessChecking) Put(ctx context.Context, k Key, r *repb.ActionResult) error {
	return c.base.Put(ctx, k, r)
}
