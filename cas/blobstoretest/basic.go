package blobstoretest

import (
	"bytes"
	"context"
	"io"
	"slices"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

func testRoundTrip(t *testing.T, s cas.BlobStore) {
	for i, fn := range digest.Functions {
		content := patternBytes(uint64(i), 0, 1000+int64(i))
		d := put(t, s, fn, content)
		wantPresent(t, s, d)
		wantContent(t, s, d, content)
	}

	// Two readers of one blob are independent.
	content := patternBytes(99, 0, 5000)
	d := put(t, s, digest.Functions[0], content)
	a, err := s.Get(context.Background(), d, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := s.Get(context.Background(), d, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var gotA, gotB bytes.Buffer
	for {
		na, errA := io.CopyN(&gotA, a, 700)
		nb, errB := io.CopyN(&gotB, b, 300)
		if na == 0 && nb == 0 && errA != nil && errB != nil {
			break
		}
	}
	if !bytes.Equal(gotA.Bytes(), content) || !bytes.Equal(gotB.Bytes(), content) {
		t.Fatalf("interleaved readers got %d and %d bytes, want both the %d stored", gotA.Len(), gotB.Len(), len(content))
	}
}

func testRangedGet(t *testing.T, s cas.BlobStore) {
	const size = 10007
	content := patternBytes(1, 0, size)
	d := put(t, s, repb.DigestFunction_SHA256, content)
	for _, r := range []struct{ offset, limit int64 }{
		{0, 0}, {0, 1}, {1, 0}, {5000, 0}, {5000, 100}, {size - 1, 0}, {size - 1, 5},
		{size, 0}, {size, 10}, {0, size}, {0, size - 1}, {0, 2 * size}, {123, size - 123},
	} {
		want := content[r.offset:]
		if r.limit > 0 && r.limit < int64(len(want)) {
			want = want[:r.limit]
		}
		if got := get(t, s, d, r.offset, r.limit); !bytes.Equal(got, want) {
			t.Errorf("Get(offset %d, limit %d) returned %d bytes, want the %d bytes of that range", r.offset, r.limit, len(got), len(want))
		}
	}
}

func testPutTwice(t *testing.T, s cas.BlobStore) {
	content := []byte("the same blob, twice")
	d := put(t, s, repb.DigestFunction_SHA256, content)
	put(t, s, repb.DigestFunction_SHA256, content)
	wantContent(t, s, d, content)
}

func testMissing(t *testing.T, s cas.BlobStore) {
	for _, fn := range digest.Functions {
		wantMissing(t, s, digest.OfBytes(fn, []byte("never stored")))
	}
}

func testEmptyBlobAlwaysPresent(t *testing.T, s cas.BlobStore) {
	ctx := context.Background()
	var empties []digest.Digest
	for _, fn := range digest.Functions {
		empties = append(empties, digest.Empty(fn))
	}
	missing, err := s.FindMissing(ctx, empties)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 0 {
		t.Fatalf("FindMissing(empty blobs) on a fresh store = %v, want none missing", missing)
	}
	for _, d := range empties {
		if got := get(t, s, d, 0, 0); len(got) != 0 {
			t.Fatalf("Get(empty %s) = %d bytes", digest.FunctionName(d.Function), len(got))
		}
		if err := s.Put(ctx, d, bytes.NewReader(nil)); err != nil {
			t.Fatalf("Put(empty %s): %v", digest.FunctionName(d.Function), err)
		}
		err := s.Put(ctx, d, bytes.NewReader([]byte("not empty")))
		wantMismatch(t, "Put(empty digest, 9 bytes)", err)
		wantPresent(t, s, d)
	}
}

func testFindMissingExactAndOrdered(t *testing.T, s cas.BlobStore) {
	var query, want []digest.Digest
	for i := range 24 {
		fn := digest.Functions[i%len(digest.Functions)]
		content := patternBytes(uint64(1000+i), 0, int64(10+i))
		switch i % 3 {
		case 0:
			query = append(query, put(t, s, fn, content))
		case 1:
			d := digest.OfBytes(fn, content)
			query = append(query, d)
			want = append(want, d)
		case 2:
			query = append(query, digest.Empty(fn))
		}
	}
	got, err := s.FindMissing(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("FindMissing returned\n%v\nwant exactly the absent digests in query order\n%v", got, want)
	}
	got, err = s.FindMissing(context.Background(), nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("FindMissing(nil) = %v, %v; want nothing", got, err)
	}
}

func testFunctionsAreDistinctKeys(t *testing.T, s cas.BlobStore) {
	ctx := context.Background()
	content := []byte("hashed with SHA256")
	sha := put(t, s, repb.DigestFunction_SHA256, content)
	asBlake3 := digest.Digest{Function: repb.DigestFunction_BLAKE3, Hash: sha.Hash, Size: sha.Size}
	wantMissing(t, s, asBlake3)
	wantMismatch(t, "Put(BLAKE3 digest with SHA256 hash text)", s.Put(ctx, asBlake3, bytes.NewReader(content)))
	wantMissing(t, s, asBlake3)

	b3 := put(t, s, repb.DigestFunction_BLAKE3, content)
	asSHA := digest.Digest{Function: repb.DigestFunction_SHA256, Hash: b3.Hash, Size: b3.Size}
	wantMissing(t, s, asSHA)
	wantContent(t, s, sha, content)
	wantContent(t, s, b3, content)

	otherSize := digest.Digest{Function: sha.Function, Hash: sha.Hash, Size: sha.Size + 1}
	wantMissing(t, s, otherSize)
}
