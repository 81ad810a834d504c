package actioncache

import (
	"context"
	"errors"
	"fmt"
	"io"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

// errTooManyReferences is wrapped when a result refers to more blobs than
// a check is willing to look at.
var errTooManyReferences = errors.New("action result refers to too many blobs")

// DefaultMaxReferencedBlobs bounds the distinct blobs one action result may
// refer to, counting the files inside its output trees. Checking costs some
// 150 bytes of memory per blob, so the default keeps one check under about
// 150 MiB while admitting outputs of a million files.
const DefaultMaxReferencedBlobs = 1 << 20

// findMissingBatch is the most digests sent in one FindMissing call. Any
// real result fits one call; the split only keeps a pathological one from
// building a single request that a remote backend would refuse.
const findMissingBatch = 100_000

// references is what an action result refers to in the CAS.
type references struct {
	// blobs holds every distinct digest: output files, stdout, stderr, the
	// Tree blobs that were found and the files inside them.
	blobs []digest.Digest
	// missingTrees are Tree blobs the CAS does not hold; what they contain
	// is unknown, so they make the result incomplete by themselves.
	missingTrees []digest.Digest
}

// collectReferences lists the blobs r refers to, all hashed with fn. It
// reads every output Tree from blobs, streaming, to collect the files of
// the root and of each child Directory. Errors wrap digest.ErrInvalid for a
// malformed digest, errMalformedTree for a Tree blob that does not parse and
// errTooManyReferences past maxBlobs; other errors come from blobs.
func collectReferences(ctx context.Context, blobs cas.BlobStore, fn digest.Function, r *repb.ActionResult, maxBlobs int) (*references, error) {
	if maxBlobs <= 0 {
		maxBlobs = DefaultMaxReferencedBlobs
	}
	refs := &references{}
	seen := make(map[digest.Digest]struct{})
	add := func(d digest.Digest) error {
		if _, ok := seen[d]; ok {
			return nil
		}
		if len(seen) >= maxBlobs {
			return fmt.Errorf("%w: more than %d", errTooManyReferences, maxBlobs)
		}
		seen[d] = struct{}{}
		refs.blobs = append(refs.blobs, d)
		return nil
	}
	addProto := func(what string, pd *repb.Digest) error {
		d, err := digest.FromProto(fn, pd)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return add(d)
	}

	for _, f := range r.GetOutputFiles() {
		if err := addProto(fmt.Sprintf("output file %q", f.GetPath()), f.GetDigest()); err != nil {
			return nil, err
		}
	}
	for _, std := range []struct {
		name string
		d    *repb.Digest
	}{{"stdout_digest", r.GetStdoutDigest()}, {"stderr_digest", r.GetStderrDigest()}} {
		if isUnsetDigest(std.d) {
			continue
		}
		if err := addProto(std.name, std.d); err != nil {
			return nil, err
		}
	}
	treesDone := make(map[digest.Digest]bool)
	for _, od := range r.GetOutputDirectories() {
		what := fmt.Sprintf("output directory %q", od.GetPath())
		tree, err := digest.FromProto(fn, od.GetTreeDigest())
		if err != nil {
			return nil, fmt.Errorf("%s: tree_digest: %w", what, err)
		}
		if treesDone[tree] {
			continue // the same Tree twice: its files are in already
		}
		treesDone[tree] = true
		err = readTreeFiles(ctx, blobs, tree, func(pd *repb.Digest, name string) error {
			return addProto(fmt.Sprintf("%s: file %q", what, name), pd)
		})
		if errors.Is(err, cas.ErrNotFound) {
			refs.missingTrees = append(refs.missingTrees, tree)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: tree %s: %w", what, tree, err)
		}
		// Asked about with the rest, which refreshes its lifetime too.
		if err := add(tree); err != nil {
			return nil, err
		}
	}
	return refs, nil
}

// isUnsetDigest reports whether d says "no blob": absent, or an empty
// message as some clients send for an action that printed nothing.
func isUnsetDigest(d *repb.Digest) bool {
	return d == nil || d.GetHash() == "" && d.GetSizeBytes() == 0
}

// readTreeFiles streams Tree tree from blobs and calls fn for every file in
// its root and children. A blob whose length differs from the digest's size
// is reported as malformed rather than trusted.
func readTreeFiles(ctx context.Context, blobs cas.BlobStore, tree digest.Digest, fn func(d *repb.Digest, name string) error) error {
	rc, err := blobs.Get(ctx, tree, 0, 0)
	if err != nil {
		return err
	}
	defer rc.Close()
	cr := &countingReader{r: io.LimitReader(rc, tree.Size+1)}
	err = forEachTreeDirectory(cr, func(dir *repb.Directory) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, f := range dir.GetFiles() {
			if err := fn(f.GetDigest(), f.GetName()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if cr.n != tree.Size {
		return fmt.Errorf("%w: the store returned %d bytes for a blob of %d", errMalformedTree, cr.n, tree.Size)
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// findMissing asks blobs about ds in as few calls as findMissingBatch allows.
func findMissing(ctx context.Context, blobs cas.BlobStore, ds []digest.Digest) ([]digest.Digest, error) {
	var missing []digest.Digest
	for len(ds) > 0 {
		n := min(len(ds), findMissingBatch)
		m, err := blobs.FindMissing(ctx, ds[:n])
		if err != nil {
			return nil, fmt.Errorf("checking the CAS for referenced blobs: %w", err)
		}
		missing = append(missing, m...)
		ds = ds[n:]
	}
	return missing, nil
}
