package worker

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

func newTestCache(t *testing.T, dir string, maxBytes int64, store cas.BlobStore) *fileCache {
	t.Helper()
	c, err := newFileCache(dir, maxBytes, store, testMetrics())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFileCacheHardlinksReadOnlyFiles(t *testing.T) {
	store := newCountingStore(cas.NewMemoryStore())
	d := putBlob(t, store, []byte("shared content"))
	c := newTestCache(t, t.TempDir(), 1<<20, store)
	out := t.TempDir()
	ctx := context.Background()

	for _, name := range []string{"a", "b"} {
		if err := c.link(ctx, d, false, filepath.Join(out, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.link(ctx, d, true, filepath.Join(out, "x")); err != nil {
		t.Fatal(err)
	}
	a, _ := os.Stat(filepath.Join(out, "a"))
	b, _ := os.Stat(filepath.Join(out, "b"))
	x, _ := os.Stat(filepath.Join(out, "x"))
	if !os.SameFile(a, b) {
		t.Error("two links of one blob are different files")
	}
	if os.SameFile(a, x) {
		t.Error("the executable copy shares the plain file's inode (and mode)")
	}
	if a.Mode().Perm() != 0o444 || x.Mode().Perm() != 0o555 {
		t.Errorf("modes %v and %v, want 0444 and 0555", a.Mode().Perm(), x.Mode().Perm())
	}
	if got := mustRead(t, filepath.Join(out, "x")); got != "shared content" {
		t.Errorf("content %q", got)
	}
	if n := store.getsOf(d); n != 2 {
		t.Errorf("%d fetches, want 2 (plain and executable)", n)
	}
}

func TestFileCacheDeduplicatesConcurrentFetches(t *testing.T) {
	store := newCountingStore(cas.NewMemoryStore())
	d := putBlob(t, store, []byte("popular input"))
	store.gate = make(chan struct{})
	c := newTestCache(t, t.TempDir(), 1<<20, store)
	out := t.TempDir()

	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.link(context.Background(), d, false, filepath.Join(out, string(rune('a'+i))))
		}()
	}
	// Let the one fetch through once somebody is waiting on it.
	for store.getsOf(d) == 0 {
		waitABit()
	}
	time.Sleep(50 * time.Millisecond) // let the others pile up behind it
	close(store.gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("link %d: %v", i, err)
		}
	}
	if got := store.getsOf(d); got != 1 {
		t.Errorf("%d fetches of one blob, want 1", got)
	}
}

func TestFileCacheEvictsLeastRecentlyUsed(t *testing.T) {
	store := newCountingStore(cas.NewMemoryStore())
	a := putBlob(t, store, []byte("aaaa"))
	b := putBlob(t, store, []byte("bbbb"))
	cc := putBlob(t, store, []byte("cccc"))
	c := newTestCache(t, t.TempDir(), 10, store)
	out := t.TempDir()
	ctx := context.Background()
	link := func(d digest.Digest, name string) {
		t.Helper()
		if err := c.link(ctx, d, false, filepath.Join(out, name)); err != nil {
			t.Fatal(err)
		}
	}
	link(a, "a1")
	link(b, "b1")
	link(a, "a2") // a is now more recent than b
	link(cc, "c1")
	if !c.contains(a, false) || c.contains(b, false) || !c.contains(cc, false) {
		t.Errorf("after eviction: a %v b %v c %v, want a and c kept", c.contains(a, false), c.contains(b, false), c.contains(cc, false))
	}
	if got := c.bytes(); got != 8 {
		t.Errorf("cache holds %d bytes, want 8", got)
	}
	if _, err := os.Stat(c.path(cacheKey{b, false})); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("evicted file still on disk: %v", err)
	}
	// Evicting only drops the cache's name: the action's link survives.
	if got := mustRead(t, filepath.Join(out, "b1")); got != "bbbb" {
		t.Errorf("linked copy of an evicted blob reads %q", got)
	}
	link(b, "b2")
	if n := store.getsOf(b); n != 2 {
		t.Errorf("b fetched %d times, want 2 (once more after eviction)", n)
	}
}

func TestFileCacheRefetchesAModifiedFile(t *testing.T) {
	store := newCountingStore(cas.NewMemoryStore())
	d := putBlob(t, store, []byte("pristine"))
	c := newTestCache(t, t.TempDir(), 1<<20, store)
	out := t.TempDir()
	ctx := context.Background()
	if err := c.link(ctx, d, false, filepath.Join(out, "first")); err != nil {
		t.Fatal(err)
	}
	// An action (running as root, or after a chmod) writes its input.
	victim := filepath.Join(out, "first")
	if err := os.Chmod(victim, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(victim, []byte("TAMPERED"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.link(ctx, d, false, filepath.Join(out, "second")); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, filepath.Join(out, "second")); got != "pristine" {
		t.Errorf("second action got %q", got)
	}
	if n := store.getsOf(d); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}

func TestFileCacheMissingAndCorruptBlobs(t *testing.T) {
	mem := cas.NewMemoryStore()
	c := newTestCache(t, t.TempDir(), 1<<20, lyingStore{mem})
	out := t.TempDir()
	missing := digest.OfBytes(testFn, []byte("never uploaded"))
	if err := c.link(context.Background(), missing, false, filepath.Join(out, "m")); !errors.Is(err, cas.ErrNotFound) {
		t.Errorf("missing blob: %v, want ErrNotFound", err)
	}
	d := putBlob(t, mem, []byte("true content"))
	err := c.link(context.Background(), d, false, filepath.Join(out, "l"))
	if !errors.Is(err, digest.ErrMismatch) {
		t.Errorf("corrupt blob: %v, want ErrMismatch", err)
	}
	if c.contains(d, false) {
		t.Error("a corrupt blob entered the cache")
	}
	if _, err := os.Lstat(filepath.Join(out, "l")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a corrupt blob was linked: %v", err)
	}
}

// lyingStore serves every blob with its first byte flipped.
type lyingStore struct{ cas.BlobStore }

func (s lyingStore) Get(ctx context.Context, d digest.Digest, offset, limit int64) (io.ReadCloser, error) {
	rc, err := s.BlobStore.Get(ctx, d, offset, limit)
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if len(b) > 0 {
		b[0] ^= 0xff
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func TestFileCacheEmptyAndOversizedFiles(t *testing.T) {
	store := newCountingStore(cas.NewMemoryStore())
	big := putBlob(t, store, bytes.Repeat([]byte("x"), 100))
	c := newTestCache(t, t.TempDir(), 50, store)
	out := t.TempDir()
	ctx := context.Background()
	if err := c.link(ctx, digest.Empty(testFn), true, filepath.Join(out, "empty")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(out, "empty")); err != nil || fi.Size() != 0 || fi.Mode().Perm() != 0o555 {
		t.Errorf("empty file: %v %v", fi, err)
	}
	if err := c.link(ctx, big, false, filepath.Join(out, "big")); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, filepath.Join(out, "big")); len(got) != 100 {
		t.Errorf("big file has %d bytes", len(got))
	}
	if c.contains(big, false) || c.bytes() != 0 {
		t.Error("a file larger than the whole cache was cached")
	}
}

func TestFileCacheSurvivesRestart(t *testing.T) {
	store := newCountingStore(cas.NewMemoryStore())
	d := putBlob(t, store, []byte("persistent"))
	dir := t.TempDir()
	c := newTestCache(t, dir, 1<<20, store)
	if err := c.link(context.Background(), d, true, filepath.Join(t.TempDir(), "f")); err != nil {
		t.Fatal(err)
	}
	// Garbage a crash could leave: a partial fetch and a stray file.
	if err := os.WriteFile(filepath.Join(dir, "tmp", "fetch-123"), []byte("part"), 0o600); err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(dir, "sha256", "ab", "not-a-cache-file")
	if err := os.MkdirAll(filepath.Dir(stray), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stray, nil, 0o444); err != nil {
		t.Fatal(err)
	}

	c2 := newTestCache(t, dir, 1<<20, store)
	if !c2.contains(d, true) || c2.bytes() != d.Size {
		t.Fatalf("reopened cache: contains %v, %d bytes", c2.contains(d, true), c2.bytes())
	}
	if err := c2.link(context.Background(), d, true, filepath.Join(t.TempDir(), "g")); err != nil {
		t.Fatal(err)
	}
	if n := store.getsOf(d); n != 1 {
		t.Errorf("%d fetches across a restart, want 1", n)
	}
	for _, p := range []string{stray, filepath.Join(dir, "tmp", "fetch-123")} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived the restart", p)
		}
	}
}
