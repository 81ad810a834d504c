package actioncache

import (
	"context"
	"fmt"
	"sync"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"
)

// MemoryStore keeps entries in a map. It is for tests and ephemeral setups:
// nothing survives the process and there is no size cap.
type MemoryStore struct {
	mu      sync.RWMutex
	entries map[Key]*repb.ActionResult
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{entries: make(map[Key]*repb.ActionResult)}
}

// Get implements Store. It returns a copy, so callers may modify the result.
func (s *MemoryStore) Get(ctx context.Context, k Key) (*repb.ActionResult, error) {
	s.mu.RLock()
	r, ok := s.entries[k]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("action %s: %w", k.Action, ErrNotFound)
	}
	return proto.CloneOf(r), nil
}

// Put implements Store. It stores a copy, so the caller keeps ownership of r.
func (s *MemoryStore) Put(ctx context.Context, k Key, r *repb.ActionResult) error {
	if r == nil {
		return fmt.Errorf("action %s: nil action result", k.Action)
	}
	c := proto.CloneOf(r)
	s.mu.Lock()
	s.entries[k] = c
	s.mu.Unlock()
	return nil
}
