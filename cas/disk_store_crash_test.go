package cas_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/kilnbuild/kiln/cas"
)

// TestDiskStoreNeverServesTempFiles plants what a crash mid-upload leaves:
// garbage in tmp/ named like the blob. Neither before nor after a restart
// may the store serve it.
func TestDiskStoreNeverServesTempFiles(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir, cas.DiskStoreOptions{})
	b, d := blobOf(1, 5000)
	final := blobFile(dir, d)
	garbage := bytes.Repeat([]byte{'g'}, len(b))
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		filepath.Join(dir, "tmp", filepath.Base(final)),
		filepath.Join(dir, "tmp", "put-"+filepath.Base(final)),
		final + ".tmp",
	} {
		if err := os.WriteFile(p, garbage, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if has(t, s, d) {
		t.Fatal("a temp file made the blob present")
	}
	s.Close()

	s2 := openDisk(t, dir, cas.DiskStoreOptions{})
	if has(t, s2, d) {
		t.Fatal("after restart a temp file made the blob present")
	}
	if _, err := s2.Get(context.Background(), d, 0, 0); !errors.Is(err, cas.ErrNotFound) {
		t.Fatalf("Get = %v, want ErrNotFound", err)
	}
	// Storing it for real works and serves the real bytes.
	putBytes(t, s2, d, b)
	if got := readBlob(t, s2, d); !bytes.Equal(got, b) {
		t.Fatal("the blob serves other bytes than were put")
	}
}

// TestDiskStoreFailedPutLeavesNothing stops uploads half way, by a failing
// reader and by a cancelled context: no file may remain anywhere.
func TestDiskStoreFailedPutLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir, cas.DiskStoreOptions{})
	b, d := blobOf(1, 3<<20)
	errBroken := errors.New("client went away")
	half := io.MultiReader(bytes.NewReader(b[:len(b)/2]), iotestErrReader(errBroken))
	if err := s.Put(context.Background(), d, half); !errors.Is(err, errBroken) {
		t.Fatalf("Put = %v, want the reader's error", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancelling := io.MultiReader(bytes.NewReader(b[:len(b)/2]), cancelThenEOF(cancel))
	if err := s.Put(ctx, d, cancelling); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a context cancelled mid-upload = %v, want context.Canceled", err)
	}

	if has(t, s, d) {
		t.Fatal("a failed Put made the blob present")
	}
	files := filesUnder(t, dir)
	delete(files, "LOCK")
	if len(files) != 0 {
		t.Fatalf("failed Puts left files behind: %v", files)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func iotestErrReader(err error) io.Reader { return errReader{err} }

// cancelThenEOF cancels when first read, then ends the stream: the blob
// is incomplete, and the store must notice the cancellation.
type cancelReader struct{ cancel context.CancelFunc }

func (r cancelReader) Read([]byte) (int, error) { r.cancel(); return 0, io.EOF }

func cancelThenEOF(cancel context.CancelFunc) io.Reader { return cancelReader{cancel} }

// TestDiskStoreDropsDamagedBlobs damages blob files from outside, the way
// a disk error or an operator might: a wrong-sized file is never served.
func TestDiskStoreDropsDamagedBlobs(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir, cas.DiskStoreOptions{})
	b1, d1 := blobOf(1, 5000)
	b2, d2 := blobOf(2, 5000)
	putBytes(t, s, d1, b1)
	putBytes(t, s, d2, b2)

	// While running: a truncated file is dropped at the next Get.
	if err := os.Truncate(blobFile(dir, d1), 100); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(context.Background(), d1, 0, 0); !errors.Is(err, cas.ErrNotFound) {
		t.Fatalf("Get of a truncated blob = %v, want ErrNotFound", err)
	}
	if has(t, s, d1) || s.SizeBytes() != 5000 {
		t.Fatalf("a truncated blob stayed in the index (SizeBytes %d)", s.SizeBytes())
	}
	// A deleted file is forgotten at the next Get, and can be put again.
	if err := os.Remove(blobFile(dir, d2)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(context.Background(), d2, 0, 0); !errors.Is(err, cas.ErrNotFound) {
		t.Fatalf("Get of a deleted blob = %v, want ErrNotFound", err)
	}
	putBytes(t, s, d2, b2)
	if got := readBlob(t, s, d2); !bytes.Equal(got, b2) {
		t.Fatal("a blob put again after its file vanished serves other bytes")
	}
	s.Close()

	// At start-up: a file whose size contradicts its name is deleted.
	if err := os.Truncate(blobFile(dir, d2), 4999); err != nil {
		t.Fatal(err)
	}
	s2 := openDisk(t, dir, cas.DiskStoreOptions{})
	if has(t, s2, d2) || s2.SizeBytes() != 0 {
		t.Fatalf("a truncated blob survived a restart (SizeBytes %d)", s2.SizeBytes())
	}
	if _, err := os.Stat(blobFile(dir, d2)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the truncated file is still there: %v", err)
	}
}
