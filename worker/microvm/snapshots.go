package microvm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// snapshotStore keeps one snapshot per key (image, VMM, guest shape) under
// dir, made once and restored by every guest of that key. Snapshots stay
// on disk across restarts; those of another image are removed at start.
type snapshotStore struct {
	dir         string
	fingerprint string

	mu      sync.Mutex
	pending map[string]*snapshotWait
}

// snapshotWait is a snapshot being made, or one that recently failed: a
// failure is remembered for a while so that every action does not boot a
// guest that will not come up.
type snapshotWait struct {
	done   chan struct{}
	snap   *Snapshot
	err    error
	failed time.Time
}

const snapshotRetryAfter = time.Minute

// snapshotMeta is written beside a snapshot's files.
type snapshotMeta struct {
	Fingerprint string `json:"fingerprint"`
	Key         string `json:"key"`
}

func openSnapshotStore(dir, fingerprint string) (*snapshotStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		var meta snapshotMeta
		b, err := os.ReadFile(filepath.Join(p, "meta.json"))
		if err == nil {
			err = json.Unmarshal(b, &meta)
		}
		if err != nil || meta.Fingerprint != fingerprint || strings.HasPrefix(e.Name(), ".") {
			if err := os.RemoveAll(p); err != nil {
				return nil, err
			}
		}
	}
	return &snapshotStore{dir: dir, fingerprint: fingerprint, pending: map[string]*snapshotWait{}}, nil
}

// get returns the snapshot of key, making it with create when there is none.
// Callers asking at the same time share one creation.
func (s *snapshotStore) get(ctx context.Context, key string, create func(ctx context.Context, dir string) (*Snapshot, error)) (*Snapshot, error) {
	final := filepath.Join(s.dir, key)
	s.mu.Lock()
	w, ok := s.pending[key]
	if ok {
		select {
		case <-w.done:
			// Only a failure stays pending; retry it after a while.
			if time.Since(w.failed) > snapshotRetryAfter {
				ok = false
			}
		default:
		}
	}
	if !ok {
		if snap := existingSnapshot(final); snap != nil {
			s.mu.Unlock()
			return snap, nil
		}
		w = &snapshotWait{done: make(chan struct{})}
		s.pending[key] = w
		go s.create(w, key, final, create)
	}
	s.mu.Unlock()
	select {
	case <-w.done:
		return w.snap, w.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// create runs detached from any one caller: a caller that gives up must not
// waste the boot the others wait for.
func (s *snapshotStore) create(w *snapshotWait, key, final string, create func(ctx context.Context, dir string) (*Snapshot, error)) {
	defer close(w.done)
	tmp, err := os.MkdirTemp(s.dir, "."+key+"-")
	if err == nil {
		_, err = create(context.Background(), tmp)
	}
	if err == nil {
		meta, _ := json.Marshal(snapshotMeta{Fingerprint: s.fingerprint, Key: key})
		err = os.WriteFile(filepath.Join(tmp, "meta.json"), meta, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.RemoveAll(tmp)
		w.err = fmt.Errorf("making the snapshot %s: %w", key, err)
		w.failed = time.Now()
		return
	}
	w.snap = existingSnapshot(final)
	if w.snap == nil {
		w.err = errors.New("the snapshot vanished as it was made")
		w.failed = time.Now()
		return
	}
	s.mu.Lock()
	delete(s.pending, key)
	s.mu.Unlock()
}

// existingSnapshot returns the snapshot in dir when it is complete.
func existingSnapshot(dir string) *Snapshot {
	snap := &Snapshot{MemoryFile: filepath.Join(dir, "memory"), StateFile: filepath.Join(dir, "state")}
	for _, f := range []string{snap.MemoryFile, snap.StateFile, filepath.Join(dir, "meta.json")} {
		if _, err := os.Stat(f); err != nil {
			return nil
		}
	}
	return snap
}
