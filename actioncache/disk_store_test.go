package actioncache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/internal/digest"
)

func openDisk(t *testing.T, dir string, opts DiskStoreOptions) *DiskStore {
	t.Helper()
	s, err := NewDiskStore(dir, opts)
	if err != nil {
		t.Fatalf("NewDiskStore: %v", err)
	}
	return s
}

// resultNamed is a distinguishable result; pad makes its entry larger.
func resultNamed(name string, pad int) *repb.ActionResult {
	return &repb.ActionResult{
		ExitCode:    int32(len(name)),
		OutputFiles: []*repb.OutputFile{{Path: name, Digest: blobDigest(name).Proto()}},
		StdoutRaw:   make([]byte, pad),
	}
}

func mustGet(t *testing.T, s Store, k Key) *repb.ActionResult {
	t.Helper()
	r, err := s.Get(context.Background(), k)
	if err != nil {
		t.Fatalf("Get(%v): %v", k, err)
	}
	return r
}

func mustPut(t *testing.T, s Store, k Key, r *repb.ActionResult) {
	t.Helper()
	if err := s.Put(context.Background(), k, r); err != nil {
		t.Fatalf("Put(%v): %v", k, err)
	}
}

func TestDiskStoreKeepsEntriesAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	k := actionKey("team/a", "build")
	want := resultNamed("out", 0)
	mustPut(t, openDisk(t, dir, DiskStoreOptions{}), k, want)

	reopened := openDisk(t, dir, DiskStoreOptions{})
	if got := mustGet(t, reopened, k); !proto.Equal(got, want) {
		t.Errorf("after restart Get = %v, want %v", got, want)
	}
}

func TestDiskStoreRejectsMalformedKeys(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir, DiskStoreOptions{})
	k := Key{Action: digest.Digest{Function: repb.DigestFunction_SHA256, Hash: "../../../../etc/passwd", Size: 1}}
	if err := s.Put(context.Background(), k, resultNamed("x", 0)); !errors.Is(err, digest.ErrInvalid) {
		t.Errorf("Put with a malformed hash = %v, want digest.ErrInvalid", err)
	}
}

func TestDiskStoreRemovesStrayTempFilesAtOpen(t *testing.T) {
	dir := t.TempDir()
	openDisk(t, dir, DiskStoreOptions{})
	stray := filepath.Join(dir, "tmp", "put-123")
	if err := os.WriteFile(stray, []byte("half an entry"), 0o644); err != nil {
		t.Fatal(err)
	}
	openDisk(t, dir, DiskStoreOptions{})
	if _, err := os.Stat(stray); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stray temp file still there after open (stat: %v)", err)
	}
}

func TestDiskStoreEvictsLeastRecentlyUsedEntries(t *testing.T) {
	s := openDisk(t, t.TempDir(), DiskStoreOptions{MaxEntries: 2})
	a, b, c := actionKey("", "a"), actionKey("", "b"), actionKey("", "c")
	mustPut(t, s, a, resultNamed("a", 0))
	mustPut(t, s, b, resultNamed("b", 0))
	mustGet(t, s, a) // a is now more recent than b
	mustPut(t, s, c, resultNamed("c", 0))

	if _, err := s.Get(context.Background(), b); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(b) = %v, want ErrNotFound: b was least recently used", err)
	}
	mustGet(t, s, a)
	mustGet(t, s, c)
}

func TestDiskStoreEvictsBySizeAndOnReopen(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir, DiskStoreOptions{})
	var keys []Key
	for i := range 5 {
		k := actionKey("", fmt.Sprint(i))
		keys = append(keys, k)
		mustPut(t, s, k, resultNamed(fmt.Sprint(i), 1000))
	}
	// Reopening with a limit of about two entries trims the rest.
	s = openDisk(t, dir, DiskStoreOptions{MaxSizeBytes: 2500})
	present := 0
	for _, k := range keys {
		if _, err := s.Get(context.Background(), k); err == nil {
			present++
		}
	}
	if present != 2 {
		t.Errorf("%d entries survive a 2500-byte limit, want 2", present)
	}
	mustPut(t, s, actionKey("", "new"), resultNamed("new", 1000))
	present = 0
	for _, k := range append(keys, actionKey("", "new")) {
		if _, err := s.Get(context.Background(), k); err == nil {
			present++
		}
	}
	if present != 2 {
		t.Errorf("%d entries after a Put at the limit, want 2", present)
	}
	mustGet(t, s, actionKey("", "new"))
}

func TestDiskStoreTreatsDamagedEntryAsMiss(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir, DiskStoreOptions{})
	k := actionKey("", "damaged")
	mustPut(t, s, k, resultNamed("x", 0))
	path, err := s.entryPath(k)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte{0xff, 0xff, 0xff}, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(context.Background(), k); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a damaged entry = %v, want ErrNotFound", err)
	}
}
