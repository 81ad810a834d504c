package cas_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

// blobFile is where the documented layout puts d under dir.
func blobFile(dir string, d digest.Digest) string {
	return filepath.Join(dir, "blobs", digest.FunctionName(d.Function), d.Hash[:2], fmt.Sprintf("%s-%d", d.Hash, d.Size))
}

func TestDiskStoreRestartKeepsBlobs(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	s, err := newDisk(dir, cas.DiskStoreOptions{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	contents := map[digest.Digest][]byte{}
	for i := range 20 {
		b, d := blobOf(i, 100+i*50)
		if i%2 == 1 {
			d = digest.OfBytes(repb.DigestFunction_BLAKE3, b)
		}
		putBytes(t, s, d, b)
		contents[d] = b
	}
	size := s.SizeBytes()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// What a killed process would leave behind: an unfinished upload and an
	// evicted blob that was not yet unlinked.
	for _, name := range []string{"put-123456", "evicted-7"} {
		if err := os.WriteFile(filepath.Join(dir, "tmp", name), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	logger, logs := testLogger()
	s2 := openDisk(t, dir, cas.DiskStoreOptions{Registerer: reg, Logger: logger})
	for d, b := range contents {
		if got := readBlob(t, s2, d); !bytes.Equal(got, b) {
			t.Fatalf("after restart %s has other content", d)
		}
	}
	if got := s2.SizeBytes(); got != size {
		t.Errorf("after restart SizeBytes = %d, want %d", got, size)
	}
	if got := gather(t, reg)["kiln_cas_disk_blobs"]; got != float64(len(contents)) {
		t.Errorf("after restart kiln_cas_disk_blobs = %v, want %d", got, len(contents))
	}
	if tmp := filesUnder(t, filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Errorf("stray temp files survived the restart: %v", tmp)
	}
	if !strings.Contains(logs.String(), "disk CAS opened") {
		t.Errorf("no start-up log line in %q", logs.String())
	}
}

func TestDiskStoreRestartSeedsRecencyFromMtime(t *testing.T) {
	dir := t.TempDir()
	s, err := newDisk(dir, cas.DiskStoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ds []digest.Digest
	for i := range 4 {
		b, d := blobOf(i, 1000)
		putBytes(t, s, d, b)
		ds = append(ds, d)
	}
	s.Close()
	// Blob 0 was used most recently, then 3, 2, 1.
	base := time.Now().Add(-24 * time.Hour)
	for i, age := range []time.Duration{4, 1, 2, 3} {
		mtime := base.Add(-age * time.Hour)
		if err := os.Chtimes(blobFile(dir, ds[i]), mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}

	s2 := openDisk(t, dir, cas.DiskStoreOptions{MaxSizeBytes: 4000})
	b, d := blobOf(4, 2000)
	putBytes(t, s2, d, b)
	for i, wantPresent := range []bool{false, true, true, false} {
		if got := has(t, s2, ds[i]); got != wantPresent {
			t.Errorf("blob %d (older by %d h) present = %v, want %v", i, []int{4, 1, 2, 3}[i], got, wantPresent)
		}
	}
}

func TestDiskStoreShrunkCapEvictsAtOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := newDisk(dir, cas.DiskStoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		b, d := blobOf(i, 1000)
		putBytes(t, s, d, b)
	}
	s.Close()

	s2 := openDisk(t, dir, cas.DiskStoreOptions{MaxSizeBytes: 3500})
	if got := s2.SizeBytes(); got != 3000 {
		t.Errorf("SizeBytes after reopening with a smaller cap = %d, want 3000", got)
	}
	if got, n := blobBytesOnDisk(t, dir); got != 3000 || n != 3 {
		t.Errorf("blob files after reopening with a smaller cap: %d bytes in %d files, want 3000 in 3", got, n)
	}
}

func TestDiskStoreIgnoresUnexpectedFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := newDisk(dir, cas.DiskStoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, d := blobOf(1, 100)
	putBytes(t, s, d, b)
	s.Close()

	fanOut := filepath.Dir(blobFile(dir, d))
	other := digest.OfBytes(repb.DigestFunction_SHA256, []byte("x"))
	strays := []string{
		filepath.Join(fanOut, "notes.txt"),
		filepath.Join(fanOut, d.Hash+"-12x"),
		filepath.Join(fanOut, d.Hash+"-0100"),
		filepath.Join(fanOut, other.Hash+"-1"), // right name, wrong fan-out directory
		filepath.Join(dir, "blobs", "md5", "ab", "whatever"),
		filepath.Join(dir, "blobs", "SHA256", d.Hash[:2], d.Hash+"-100"),
		filepath.Join(dir, "blobs", "README"),
	}
	for _, p := range strays {
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	logger, logs := testLogger()
	s2 := openDisk(t, dir, cas.DiskStoreOptions{Logger: logger})
	if got := s2.SizeBytes(); got != 100 {
		t.Errorf("SizeBytes = %d, want only the real blob's 100", got)
	}
	if !has(t, s2, d) || has(t, s2, other) {
		t.Error("the index holds other blobs than the one real blob")
	}
	for _, p := range strays {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("unparseable file %s was not left alone: %v", p, err)
		}
		// The line names the file, or the directory skipped as a whole.
		named := false
		for _, line := range strings.Split(logs.String(), "\n") {
			for q := p; q != filepath.Join(dir, "blobs"); q = filepath.Dir(q) {
				named = named || strings.Contains(line, "ignoring unexpected entry") && strings.Contains(line+" ", " path="+q+" ")
			}
		}
		if !named {
			t.Errorf("no log line names %s", p)
		}
	}
}

func TestDiskStoreLocksItsDirectory(t *testing.T) {
	dir := t.TempDir()
	s, err := newDisk(dir, cas.DiskStoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s2, err := newDisk(dir, cas.DiskStoreOptions{}); err == nil {
		s2.Close()
		t.Fatal("a second store opened a directory in use")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Errorf("second open failed with %q, want it to say the directory is in use", err)
	}
	s.Close()
	openDisk(t, dir, cas.DiskStoreOptions{})
}

func TestDiskStoreRejectsNegativeCap(t *testing.T) {
	if _, err := newDisk(t.TempDir(), cas.DiskStoreOptions{MaxSizeBytes: -1}); err == nil {
		t.Fatal("NewDiskStore accepted a negative MaxSizeBytes")
	}
}

// TestDiskStoreAccessRefreshesStaleMtime checks the recency seed of the next
// start-up: an access rewrites a blob's mtime once it is over an hour old,
// and leaves a fresher one alone (no syscall on the hot path).
func TestDiskStoreAccessRefreshesStaleMtime(t *testing.T) {
	dir := t.TempDir()
	s, err := newDisk(dir, cas.DiskStoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ds []digest.Digest
	for i := range 4 {
		b, d := blobOf(i, 100)
		putBytes(t, s, d, b)
		ds = append(ds, d)
	}
	s.Close()
	stale := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	fresh := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	mtimes := []time.Time{stale, stale, fresh, stale}
	for i, m := range mtimes {
		if err := os.Chtimes(blobFile(dir, ds[i]), m, m); err != nil {
			t.Fatal(err)
		}
	}

	s2 := openDisk(t, dir, cas.DiskStoreOptions{})
	readBlob(t, s2, ds[0])
	readBlob(t, s2, ds[2])
	if _, err := s2.FindMissing(context.Background(), ds[1:2]); err != nil {
		t.Fatal(err)
	}
	for i, wantRefreshed := range []bool{true, true, false, false} {
		info, err := os.Stat(blobFile(dir, ds[i]))
		if err != nil {
			t.Fatal(err)
		}
		refreshed := !info.ModTime().Equal(mtimes[i])
		if refreshed != wantRefreshed {
			t.Errorf("blob %d: mtime %v after access, was %v; want refreshed = %v", i, info.ModTime(), mtimes[i], wantRefreshed)
		}
		if refreshed && !info.ModTime().After(mtimes[i]) {
			t.Errorf("blob %d: mtime moved backwards to %v", i, info.ModTime())
		}
	}
}
