package cas

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/kilnbuild/kiln/internal/digest"
)

// MemoryStore keeps blobs in a map. It is for tests and for small ephemeral
// setups; it has no size cap.
type MemoryStore struct {
	mu    sync.RWMutex
	blobs map[digest.Digest][]byte
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{blobs: make(map[digest.Digest][]byte)}
}

// Get implements BlobStore.
func (s *MemoryStore) Get(ctx context.Context, d digest.Digest, offset, limit int64) (io.ReadCloser, error) {
	if d.IsEmpty() {
		return emptyReader(), nil
	}
	s.mu.RLock()
	b, ok := s.blobs[d]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%s: %w", d, ErrNotFound)
	}
	b = b[min(offset, int64(len(b))):]
	if limit > 0 && limit < int64(len(b)) {
		b = b[:limit]
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// Put implements BlobStore.
func (s *MemoryStore) Put(ctx context.Context, d digest.Digest, r io.Reader) error {
	var buf bytes.Buffer
	// The size is the client's claim; trust it for preallocation only up to
	// a bound, so a lying client cannot make us reserve gigabytes.
	buf.Grow(int(min(d.Size, 64<<20)))
	if err := digest.Copy(&buf, r, d); err != nil {
		return fmt.Errorf("writing %s: %w", d, err)
	}
	s.mu.Lock()
	s.blobs[d] = buf.Bytes()
	s.mu.Unlock()
	return nil
}

// FindMissing implements BlobStore.
func (s *MemoryStore) FindMissing(ctx context.Context, ds []digest.Digest) ([]digest.Digest, error) {
	var missing []digest.Digest
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, d := range ds {
		if _, ok := s.blobs[d]; !ok && !d.IsEmpty() {
			missing = append(missing, d)
		}
	}
	return missing, nil
}
