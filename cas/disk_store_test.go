package cas_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/cas/blobstoretest"
	"github.com/kilnbuild/kiln/internal/digest"
)

// openDisk opens a DiskStore in dir and closes it when t ends.
func openDisk(t testing.TB, dir string, opts cas.DiskStoreOptions) *cas.DiskStore {
	t.Helper()
	s, err := newDisk(dir, opts)
	if err != nil {
		t.Fatalf("NewDiskStore: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newDisk opens a DiskStore that logs nowhere unless opts say otherwise.
func newDisk(dir string, opts cas.DiskStoreOptions) (*cas.DiskStore, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return cas.NewDiskStore(context.Background(), dir, opts)
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testLogger logs into a buffer the test can inspect.
func testLogger() (*slog.Logger, *syncBuffer) {
	var buf syncBuffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

// blobOf returns content of n bytes unique to i, and its SHA256 digest.
func blobOf(i, n int) ([]byte, digest.Digest) {
	b := bytes.Repeat([]byte{byte(i), byte(i >> 8), byte(i >> 16)}, n/3+1)[:n]
	copy(b, fmt.Sprintf("blob %d", i))
	return b, digest.OfBytes(repb.DigestFunction_SHA256, b)
}

func putBytes(t testing.TB, s cas.BlobStore, d digest.Digest, b []byte) {
	t.Helper()
	if err := s.Put(context.Background(), d, bytes.NewReader(b)); err != nil {
		t.Fatalf("Put(%s): %v", d, err)
	}
}

func has(t testing.TB, s cas.BlobStore, d digest.Digest) bool {
	t.Helper()
	ok, err := cas.Has(context.Background(), s, d)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func readBlob(t testing.TB, s cas.BlobStore, d digest.Digest) []byte {
	t.Helper()
	rc, err := s.Get(context.Background(), d, 0, 0)
	if err != nil {
		t.Fatalf("Get(%s): %v", d, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// filesUnder lists the regular files under dir with their sizes.
func filesUnder(t testing.TB, dir string) map[string]int64 {
	t.Helper()
	files := map[string]int64{}
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[rel] = info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// blobBytesOnDisk sums the sizes of the files under dir/blobs.
func blobBytesOnDisk(t testing.TB, dir string) (total int64, files int) {
	for _, n := range filesUnder(t, filepath.Join(dir, "blobs")) {
		total += n
		files++
	}
	return total, files
}

func TestDiskStoreConformance(t *testing.T) {
	blobstoretest.Run(t, func(t *testing.T) cas.BlobStore {
		return openDisk(t, t.TempDir(), cas.DiskStoreOptions{})
	})
}

func TestDiskStoreConformanceWithCap(t *testing.T) {
	// A cap larger than every blob of the suite must change nothing.
	blobstoretest.Run(t, func(t *testing.T) cas.BlobStore {
		return openDisk(t, t.TempDir(), cas.DiskStoreOptions{MaxSizeBytes: 1 << 30})
	})
}

func TestDiskStoreLayout(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir, cas.DiskStoreOptions{})
	b, d := blobOf(1, 100)
	putBytes(t, s, d, b)
	b3 := digest.OfBytes(repb.DigestFunction_BLAKE3, b)
	putBytes(t, s, b3, b)
	want := map[string]int64{
		filepath.Join("blobs", "sha256", d.Hash[:2], d.Hash+"-100"):   100,
		filepath.Join("blobs", "blake3", b3.Hash[:2], b3.Hash+"-100"): 100,
		"LOCK": 0,
	}
	got := filesUnder(t, dir)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("files under the store: %v, want %v", got, want)
	}
}

func TestDiskStoreEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	s := openDisk(t, t.TempDir(), cas.DiskStoreOptions{MaxSizeBytes: 10 * 1000})
	var ds []digest.Digest
	for i := range 10 {
		b, d := blobOf(i, 1000)
		putBytes(t, s, d, b)
		ds = append(ds, d)
	}
	// Use blob 0 by Get, blob 1 by FindMissing and blob 2 by a repeated
	// Put: each now counts as more recent than blobs 3 and up.
	readBlob(t, s, ds[0])
	if _, err := s.FindMissing(ctx, ds[1:2]); err != nil {
		t.Fatal(err)
	}
	b2, _ := blobOf(2, 1000)
	putBytes(t, s, ds[2], b2)

	for i := 10; i < 13; i++ {
		b, d := blobOf(i, 1000)
		putBytes(t, s, d, b)
		ds = append(ds, d)
	}
	for i, d := range ds {
		wantPresent := i <= 2 || i >= 6
		if got := has(t, s, d); got != wantPresent {
			t.Errorf("blob %d present = %v, want %v", i, got, wantPresent)
		}
	}
	if got := s.SizeBytes(); got != 10*1000 {
		t.Errorf("SizeBytes = %d, want %d", got, 10*1000)
	}
}

func TestDiskStoreStaysUnderCap(t *testing.T) {
	const maxSize = 64 << 10
	dir := t.TempDir()
	s := openDisk(t, dir, cas.DiskStoreOptions{MaxSizeBytes: maxSize})
	var last digest.Digest
	for i := range 200 {
		b, d := blobOf(i, 1+(i*7919)%(20<<10))
		putBytes(t, s, d, b)
		last = d
		if got := s.SizeBytes(); got > maxSize {
			t.Fatalf("after Put #%d SizeBytes = %d, over the cap %d", i, got, maxSize)
		}
	}
	if !has(t, s, last) {
		t.Error("the blob just written was evicted")
	}
	onDisk, _ := blobBytesOnDisk(t, dir)
	if onDisk != s.SizeBytes() {
		t.Errorf("files under blobs/ hold %d bytes, SizeBytes says %d", onDisk, s.SizeBytes())
	}
	if tmp := filesUnder(t, filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Errorf("tmp/ still holds %v", tmp)
	}
}

func TestDiskStoreRefusesBlobOverCap(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir, cas.DiskStoreOptions{MaxSizeBytes: 1000})
	small, ds := blobOf(1, 400)
	putBytes(t, s, ds, small)

	big, db := blobOf(2, 1001)
	err := s.Put(context.Background(), db, bytes.NewReader(big))
	if !errors.Is(err, cas.ErrTooLarge) {
		t.Fatalf("Put(1001 bytes, cap 1000) = %v, want an error wrapping cas.ErrTooLarge", err)
	}
	if has(t, s, db) || !has(t, s, ds) {
		t.Fatal("a refused Put changed the store's content")
	}

	// A blob of exactly the cap fits, at the cost of everything else.
	exact, de := blobOf(3, 1000)
	putBytes(t, s, de, exact)
	if !has(t, s, de) || has(t, s, ds) {
		t.Fatal("a blob of exactly the cap should replace all others")
	}
	if got, _ := blobBytesOnDisk(t, dir); got != 1000 {
		t.Fatalf("blob files hold %d bytes, want 1000", got)
	}
}

func TestDiskStoreReaderSurvivesEviction(t *testing.T) {
	s := openDisk(t, t.TempDir(), cas.DiskStoreOptions{MaxSizeBytes: 3000})
	b, d := blobOf(1, 3000)
	putBytes(t, s, d, b)
	rc, err := s.Get(context.Background(), d, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	head := make([]byte, 10)
	if _, err := io.ReadFull(rc, head); err != nil {
		t.Fatal(err)
	}
	b2, d2 := blobOf(2, 3000)
	putBytes(t, s, d2, b2)
	if has(t, s, d) {
		t.Fatal("blob 1 should have been evicted")
	}
	rest, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading an evicted blob that was open: %v", err)
	}
	if !bytes.Equal(append(head, rest...), b) {
		t.Fatal("a reader opened before eviction got other bytes")
	}
}

func TestDiskStoreMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := openDisk(t, t.TempDir(), cas.DiskStoreOptions{MaxSizeBytes: 2500, Registerer: reg})
	for i := range 4 {
		b, d := blobOf(i, 1000)
		putBytes(t, s, d, b)
	}
	want := map[string]float64{
		"kiln_cas_disk_bytes":               2000,
		"kiln_cas_disk_blobs":               2,
		"kiln_cas_disk_evictions_total":     2,
		"kiln_cas_disk_evicted_bytes_total": 2000,
	}
	if got := gather(t, reg); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("metrics = %v, want %v", got, want)
	}

	// Close unregisters, so the directory can be reopened on the same registry.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := gather(t, reg); len(got) != 0 {
		t.Fatalf("metrics after Close = %v, want none", got)
	}
}

// gather returns the value of every unlabelled gauge and counter in reg.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				got[f.GetName()] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				got[f.GetName()] = m.GetCounter().GetValue()
			}
		}
	}
	return got
}

func TestDiskStoreRejectsUnsafeDigests(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir, cas.DiskStoreOptions{})
	bad := digest.Digest{Function: repb.DigestFunction_SHA256, Hash: "../../../../escaped" + strings.Repeat("0", 45), Size: 3}
	if err := s.Put(context.Background(), bad, strings.NewReader("abc")); !errors.Is(err, digest.ErrInvalid) {
		t.Errorf("Put(path-like hash) = %v, want an error wrapping digest.ErrInvalid", err)
	}
	if _, err := s.Get(context.Background(), bad, 0, 0); !errors.Is(err, digest.ErrInvalid) {
		t.Errorf("Get(path-like hash) = %v, want an error wrapping digest.ErrInvalid", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "..", "escaped")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a file escaped the store directory")
	}
}
