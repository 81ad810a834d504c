// Package blobstoretest owns the conformance suite of cas.BlobStore: the
// behaviour every backend (memory, disk, and any later one) must show, so
// that a backend's own tests only need to cover what is particular to it.
//
// A backend's test calls Run with a constructor of empty stores:
//
//	func TestMyStoreConformance(t *testing.T) {
//		blobstoretest.Run(t, func(t *testing.T) cas.BlobStore { return newMyStore(t) })
//	}
package blobstoretest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

// Run runs the whole suite, each case in its own subtest on a fresh store
// from newStore. newStore registers its own cleanup with t.
func Run(t *testing.T, newStore func(t *testing.T) cas.BlobStore) {
	cases := []struct {
		name string
		test func(t *testing.T, s cas.BlobStore)
	}{
		{"RoundTrip", testRoundTrip},
		{"RangedGet", testRangedGet},
		{"PutTwice", testPutTwice},
		{"Missing", testMissing},
		{"EmptyBlobAlwaysPresent", testEmptyBlobAlwaysPresent},
		{"FindMissingExactAndOrdered", testFindMissingExactAndOrdered},
		{"FunctionsAreDistinctKeys", testFunctionsAreDistinctKeys},
		{"WrongContent", testWrongContent},
		{"WrongSize", testWrongSize},
		{"FailingReader", testFailingReader},
		{"PartialUploadInvisible", testPartialUploadInvisible},
		{"ConcurrentWrongPuts", testConcurrentWrongPuts},
		{"ConcurrentMixedPuts", testConcurrentMixedPuts},
		{"LargeBlob", testLargeBlob},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.test(t, newStore(t)) })
	}
}

// put stores content under its digest for fn and returns the digest.
func put(t *testing.T, s cas.BlobStore, fn digest.Function, content []byte) digest.Digest {
	t.Helper()
	d := digest.OfBytes(fn, content)
	if err := s.Put(context.Background(), d, &chunkyReader{r: bytes.NewReader(content), chunk: 4096}); err != nil {
		t.Fatalf("Put(%s): %v", d, err)
	}
	return d
}

// get reads d from offset on, at most limit bytes.
func get(t *testing.T, s cas.BlobStore, d digest.Digest, offset, limit int64) []byte {
	t.Helper()
	rc, err := s.Get(context.Background(), d, offset, limit)
	if err != nil {
		t.Fatalf("Get(%s, %d, %d): %v", d, offset, limit, err)
	}
	defer func() {
		if err := rc.Close(); err != nil {
			t.Errorf("closing Get(%s): %v", d, err)
		}
	}()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading Get(%s, %d, %d): %v", d, offset, limit, err)
	}
	return b
}

// wantContent fails t unless s serves exactly want for d.
func wantContent(t *testing.T, s cas.BlobStore, d digest.Digest, want []byte) {
	t.Helper()
	if got := get(t, s, d, 0, 0); !bytes.Equal(got, want) {
		t.Fatalf("Get(%s) returned %d bytes that differ from the %d stored", d, len(got), len(want))
	}
}

// wantMissing fails t unless s reports d missing both ways.
func wantMissing(t *testing.T, s cas.BlobStore, d digest.Digest) {
	t.Helper()
	missing, err := s.FindMissing(context.Background(), []digest.Digest{d})
	if err != nil {
		t.Fatalf("FindMissing(%s): %v", d, err)
	}
	if len(missing) != 1 || missing[0] != d {
		t.Errorf("FindMissing(%s) = %v, want it reported missing", d, missing)
	}
	rc, err := s.Get(context.Background(), d, 0, 0)
	if err == nil {
		rc.Close()
		t.Fatalf("Get(%s) succeeded, want an error wrapping cas.ErrNotFound", d)
	}
	if !errors.Is(err, cas.ErrNotFound) {
		t.Fatalf("Get(%s) = %v, want an error wrapping cas.ErrNotFound", d, err)
	}
}

// wantPresent fails t unless FindMissing reports d present.
func wantPresent(t *testing.T, s cas.BlobStore, d digest.Digest) {
	t.Helper()
	ok, err := cas.Has(context.Background(), s, d)
	if err != nil {
		t.Fatalf("Has(%s): %v", d, err)
	}
	if !ok {
		t.Fatalf("FindMissing reports %s missing, want present", d)
	}
}

// wantMismatch fails t unless err wraps digest.ErrMismatch.
func wantMismatch(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, digest.ErrMismatch) {
		t.Fatalf("%s = %v, want an error wrapping digest.ErrMismatch", what, err)
	}
}
