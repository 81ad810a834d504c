package worker

import (
	"bytes"
	"context"
	"fmt"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

// uploadBlobs makes every blob present in the CAS: one FindMissing for all
// of them, then Puts of the missing ones, at most concurrency at once.
func uploadBlobs(ctx context.Context, store cas.BlobStore, concurrency int, blobs []blobSource) error {
	byDigest := make(map[digest.Digest]blobSource, len(blobs))
	var ds []digest.Digest
	for _, b := range blobs {
		if _, dup := byDigest[b.d]; dup || b.d.Size == 0 {
			continue
		}
		byDigest[b.d] = b
		ds = append(ds, b.d)
	}
	if len(ds) == 0 {
		return nil
	}
	missing, err := store.FindMissing(ctx, ds)
	if err != nil {
		return fmt.Errorf("checking outputs in the CAS: %w", err)
	}
	return forEach(ctx, concurrency, missing, func(ctx context.Context, d digest.Digest) error {
		b := byDigest[d]
		if b.path == "" {
			if err := store.Put(ctx, d, bytes.NewReader(b.data)); err != nil {
				return fmt.Errorf("uploading %s: %w", d, err)
			}
			return nil
		}
		f, err := openRegular(b.path)
		if err != nil {
			return fmt.Errorf("uploading %s: %w", d, err)
		}
		defer f.Close()
		if err := store.Put(ctx, d, f); err != nil {
			return fmt.Errorf("uploading %s from %s: %w", d, b.path, err)
		}
		return nil
	})
}
