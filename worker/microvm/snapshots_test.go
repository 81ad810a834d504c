package microvm

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

func writeSnapshot(t *testing.T, dir, fingerprint string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	meta, _ := json.Marshal(snapshotMeta{Fingerprint: fingerprint})
	for name, data := range map[string][]byte{"memory": nil, "state": nil, "meta.json": meta} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSnapshotStoreKeepsOnlyTheImagesSnapshots(t *testing.T) {
	dir := t.TempDir()
	writeSnapshot(t, filepath.Join(dir, "mine"), "fp1")
	writeSnapshot(t, filepath.Join(dir, "other-image"), "fp0")
	writeSnapshot(t, filepath.Join(dir, ".half-made"), "fp1")
	if err := os.MkdirAll(filepath.Join(dir, "no-meta"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := openSnapshotStore(dir, "fp1")
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "mine" {
		t.Errorf("left %v, want only mine", entries)
	}
	snap, err := s.get(context.Background(), "mine", func(context.Context, string) (*Snapshot, error) {
		t.Error("an existing snapshot was made again")
		return nil, errors.New("no")
	})
	if err != nil || snap.MemoryFile != filepath.Join(dir, "mine", "memory") {
		t.Errorf("get = %+v, %v", snap, err)
	}
}

func TestSnapshotStoreMakesOnceForConcurrentCallers(t *testing.T) {
	s, err := openSnapshotStore(t.TempDir(), "fp")
	if err != nil {
		t.Fatal(err)
	}
	var made atomic.Int32
	release := make(chan struct{})
	create := func(_ context.Context, dir string) (*Snapshot, error) {
		made.Add(1)
		<-release
		for _, f := range []string{"memory", "state"} {
			if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
				return nil, err
			}
		}
		return &Snapshot{}, nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.get(context.Background(), "k", create)
			errs <- err
		}()
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := made.Load(); n != 1 {
		t.Errorf("made %d times, want once", n)
	}

	// A failure is remembered, not retried by every caller.
	failures := 0
	fail := func(context.Context, string) (*Snapshot, error) {
		failures++
		return nil, errors.New("guest never booted")
	}
	for i := 0; i < 3; i++ {
		if _, err := s.get(context.Background(), "broken", fail); err == nil {
			t.Error("a failed snapshot was returned")
		}
	}
	if failures != 1 {
		t.Errorf("tried %d times, want once within the retry delay", failures)
	}
}
