// Package cas owns the content-addressable storage: the BlobStore interface,
// its backends (disk, memory) and decorators, and the gRPC services that
// expose it to clients (REAPI ContentAddressableStorage and ByteStream).
//
// The services see exactly one BlobStore; configuration decides which
// backend and which decorators stand behind it.
package cas

import (
	"context"
	"errors"
	"io"

	"github.com/kilnbuild/kiln/internal/digest"
)

// ErrNotFound is wrapped by errors for blobs a store does not hold.
var ErrNotFound = errors.New("blob not found")

// BlobStore holds blobs by digest.
//
// The interface is deliberately small so that a decorator (metrics, tiers,
// shards) needs to get only three methods right. Blobs are streams, never
// byte slices, because a blob may be many GiB and memory must stay bounded.
//
// Every implementation keeps three promises, because the rest of Kiln (and
// every client's build) relies on them:
//   - A blob is visible only after all of its bytes were verified against its
//     digest; a partial or wrong blob is never served.
//   - The empty blob of every digest function is always present.
//   - Concurrent Puts of the same digest are safe; the blob ends up present
//     once, intact.
type BlobStore interface {
	// Get returns the bytes of d from offset on, at most limit bytes of
	// them (limit 0 means to the end). The caller validates offset and
	// limit against d.Size. A missing blob is an error wrapping ErrNotFound.
	Get(ctx context.Context, d digest.Digest, offset, limit int64) (io.ReadCloser, error)

	// Put reads d.Size bytes from r and stores them as d. If r yields other
	// bytes, or fails, Put returns an error (wrapping digest.ErrMismatch for
	// wrong content) and nothing becomes visible.
	Put(ctx context.Context, d digest.Digest, r io.Reader) error

	// FindMissing returns the digests of ds that the store does not hold,
	// in the order given. The blobs that are present count as used now: a
	// store that evicts must keep them at least as long as a freshly written
	// blob, because clients that build without the bytes rely on it.
	FindMissing(ctx context.Context, ds []digest.Digest) ([]digest.Digest, error)
}

// Has reports whether s holds d; it is FindMissing for one digest.
func Has(ctx context.Context, s BlobStore, d digest.Digest) (bool, error) {
	missing, err := s.FindMissing(ctx, []digest.Digest{d})
	if err != nil {
		return false, err
	}
	return len(missing) == 0, nil
}

// emptyReader serves the empty blob that every store holds implicitly.
func emptyReader() io.ReadCloser { return io.NopCloser(eofReader{}) }

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
