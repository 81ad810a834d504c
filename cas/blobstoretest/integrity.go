package blobstoretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

// corrupt returns a copy of b with its last byte changed.
func corrupt(b []byte) []byte {
	c := bytes.Clone(b)
	c[len(c)-1] ^= 0xff
	return c
}

func testWrongContent(t *testing.T, s cas.BlobStore) {
	for _, fn := range digest.Functions {
		content := patternBytes(7, 0, 3000)
		d := digest.OfBytes(fn, content)
		err := s.Put(context.Background(), d, bytes.NewReader(corrupt(content)))
		wantMismatch(t, "Put(wrong bytes of the right size)", err)
		wantMissing(t, s, d)
	}
}

func testWrongSize(t *testing.T, s cas.BlobStore) {
	ctx := context.Background()
	content := patternBytes(8, 0, 3000)
	d := digest.OfBytes(repb.DigestFunction_SHA256, content)

	wantMismatch(t, "Put(one byte short)", s.Put(ctx, d, bytes.NewReader(content[:len(content)-1])))
	wantMissing(t, s, d)
	wantMismatch(t, "Put(one byte extra)", s.Put(ctx, d, bytes.NewReader(append(bytes.Clone(content), 0))))
	wantMissing(t, s, d)
	wantMismatch(t, "Put(nothing)", s.Put(ctx, d, bytes.NewReader(nil)))
	wantMissing(t, s, d)

	// The right hash with the wrong size in the digest is no match either.
	bigger := digest.Digest{Function: d.Function, Hash: d.Hash, Size: d.Size + 1}
	wantMismatch(t, "Put(digest size one too big)", s.Put(ctx, bigger, bytes.NewReader(content)))
	wantMissing(t, s, bigger)
	smaller := digest.Digest{Function: d.Function, Hash: d.Hash, Size: d.Size - 1}
	wantMismatch(t, "Put(digest size one too small)", s.Put(ctx, smaller, bytes.NewReader(content)))
	wantMissing(t, s, smaller)
	wantMissing(t, s, d)
}

func testFailingReader(t *testing.T, s cas.BlobStore) {
	errBroken := errors.New("connection to client broken")
	const size = 3 << 20 // several chunks for stores that stream in ~1 MiB pieces
	d := patternDigest(repb.DigestFunction_SHA256, 9, size)
	for _, after := range []int64{0, 1, size / 2, size - 1, size} {
		r := &failingReader{r: newPatternReader(9, size), n: after, err: errBroken}
		err := s.Put(context.Background(), d, r)
		if !errors.Is(err, errBroken) {
			t.Fatalf("Put with a reader failing after %d bytes = %v, want an error wrapping the reader's", after, err)
		}
		wantMissing(t, s, d)
	}
}

// testPartialUploadInvisible checks that a blob is not visible while its
// upload is still streaming, and is once Put returns.
func testPartialUploadInvisible(t *testing.T, s cas.BlobStore) {
	const size = 2<<20 + 5
	d := patternDigest(repb.DigestFunction_SHA256, 10, size)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- s.Put(context.Background(), d, pr) }()

	if _, err := io.CopyN(pw, newPatternReader(10, size), size-1); err != nil {
		t.Fatal(err)
	}
	// All but the last byte are in: the store must not show the blob yet.
	wantMissing(t, s, d)
	if _, err := pw.Write(patternBytes(10, size-1, 1)); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatalf("Put: %v", err)
	}
	wantPresent(t, s, d)
}

// testConcurrentWrongPuts races many wrong uploads of one digest: all fail
// and the blob stays missing.
func testConcurrentWrongPuts(t *testing.T, s cas.BlobStore) {
	content := patternBytes(11, 0, 1<<20+3)
	d := digest.OfBytes(repb.DigestFunction_SHA256, content)
	wrong := corrupt(content)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			errs[i] = s.Put(context.Background(), d, &chunkyReader{r: bytes.NewReader(wrong), chunk: 64 << 10})
		})
	}
	wg.Wait()
	for i, err := range errs {
		wantMismatch(t, fmt.Sprintf("concurrent Put #%d of wrong bytes", i), err)
	}
	wantMissing(t, s, d)
}

// testConcurrentMixedPuts races right and wrong uploads of one digest with
// readers: every right upload succeeds, a wrong one may be told the blob is
// present already, and no reader ever sees anything but the right bytes.
func testConcurrentMixedPuts(t *testing.T, s cas.BlobStore) {
	ctx := context.Background()
	content := patternBytes(12, 0, 1<<20+3)
	d := digest.OfBytes(repb.DigestFunction_BLAKE3, content)
	wrongs := [][]byte{corrupt(content), content[:len(content)-1], append(bytes.Clone(content), 1)}

	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	fail := func(msg string, err error) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, msg+": "+err.Error())
	}
	for i := range 12 {
		wg.Go(func() {
			if i%2 == 0 {
				if err := s.Put(ctx, d, &chunkyReader{r: bytes.NewReader(content), chunk: 32 << 10}); err != nil {
					fail("Put of the right bytes", err)
				}
				return
			}
			err := s.Put(ctx, d, &chunkyReader{r: bytes.NewReader(wrongs[i%len(wrongs)]), chunk: 32 << 10})
			if err != nil && !errors.Is(err, digest.ErrMismatch) {
				fail("Put of wrong bytes failed without digest.ErrMismatch", err)
			}
		})
		wg.Go(func() {
			rc, err := s.Get(ctx, d, 0, 0)
			if errors.Is(err, cas.ErrNotFound) {
				return
			}
			if err != nil {
				fail("Get", err)
				return
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if err != nil {
				fail("reading Get", err)
			} else if !bytes.Equal(got, content) {
				fail("Get during concurrent Puts", errors.New("served bytes other than the blob's"))
			}
		})
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	wantContent(t, s, d, content)
}

func testLargeBlob(t *testing.T, s cas.BlobStore) {
	size := int64(64 << 20)
	if testing.Short() {
		size = 8 << 20
	}
	ctx := context.Background()
	d := patternDigest(repb.DigestFunction_SHA256, 13, size)
	if err := s.Put(ctx, d, newPatternReader(13, size)); err != nil {
		t.Fatalf("Put(%d bytes): %v", size, err)
	}
	wantPresent(t, s, d)

	// Hash the whole blob as it streams out, rather than holding it.
	rc, err := s.Get(ctx, d, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	v := digest.NewVerifier(d)
	_, err = io.Copy(v, rc)
	rc.Close()
	if err != nil {
		t.Fatalf("reading %d bytes: %v", size, err)
	}
	if err := v.Verify(); err != nil {
		t.Fatalf("Get of a large blob: %v", err)
	}

	offset := size - 3<<20 - 1
	if got, want := get(t, s, d, offset, 2<<20), patternBytes(13, offset, 2<<20); !bytes.Equal(got, want) {
		t.Fatalf("ranged Get near the end of a large blob returned %d bytes that differ from the stored range", len(got))
	}
}
