package cas

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/internal/digest"
)

func TestItem01_RightHashWrongSizeIsRejected(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, NewMemoryStore())
	data := []byte("twelve bytes")
	d := sha256Of(data)
	wrong := &repb.Digest{Hash: d.Hash, SizeBytes: d.Size + 1}

	resp, err := env.cas.BatchUpdateBlobs(ctx, &repb.BatchUpdateBlobsRequest{
		Requests: []*repb.BatchUpdateBlobsRequest_Request{{Digest: wrong, Data: data}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := codes.Code(resp.Responses[0].GetStatus().GetCode()); c != codes.InvalidArgument {
		t.Errorf("BatchUpdateBlobs with a wrong size: %v, want INVALID_ARGUMENT", c)
	}

	wrongD := digest.Digest{Function: d.Function, Hash: d.Hash, Size: d.Size + 1}
	_, err = env.writeAll(ctx, "uploads/u1/blobs/"+wrongD.String(), data, 0, 4)
	wantCode(t, err, codes.InvalidArgument, "Write with a wrong size")
	if stored(t, env.store, d) || stored(t, env.store, wrongD) {
		t.Error("a blob with a wrong size was stored")
	}

	// Without the bytes, only the empty blob's hash gives a wrong size away.
	empty := digest.Empty(repb.DigestFunction_SHA256)
	_, err = env.cas.FindMissingBlobs(ctx, &repb.FindMissingBlobsRequest{
		BlobDigests: []*repb.Digest{{Hash: empty.Hash, SizeBytes: 5}},
	})
	wantCode(t, err, codes.InvalidArgument, "FindMissingBlobs of the empty hash with size 5")

	// A stored blob asked for under another size is not served.
	put(t, env.store, data)
	_, _, err = env.readAll(ctx, &bytestream.ReadRequest{ResourceName: "blobs/" + wrongD.String()})
	wantCode(t, err, codes.NotFound, "Read under a wrong size")

	_, err = env.cas.FindMissingBlobs(ctx, &repb.FindMissingBlobsRequest{
		BlobDigests: []*repb.Digest{{Hash: d.Hash, SizeBytes: -1}},
	})
	wantCode(t, err, codes.InvalidArgument, "FindMissingBlobs with a negative size")
}

func TestItem02_DigestFunctionIsExplicitOrInferredFromHashLength(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, NewMemoryStore())
	data := []byte("hashed three ways")
	sha1 := digest.OfBytes(repb.DigestFunction_SHA1, data)
	blake3 := digest.OfBytes(repb.DigestFunction_BLAKE3, data)

	// Unset function, 40 hex characters: SHA1.
	resp, err := env.cas.BatchUpdateBlobs(ctx, &repb.BatchUpdateBlobsRequest{
		Requests: []*repb.BatchUpdateBlobsRequest_Request{{Digest: sha1.Proto(), Data: data}},
	})
	if err != nil || resp.Responses[0].GetStatus().GetCode() != 0 {
		t.Fatalf("BatchUpdateBlobs of a SHA1 blob: %v %v", resp, err)
	}
	if !stored(t, env.store, sha1) {
		t.Error("the blob was not stored as SHA1")
	}

	// BLAKE3 only when named: the same 64 characters unnamed mean SHA256.
	resp, err = env.cas.BatchUpdateBlobs(ctx, &repb.BatchUpdateBlobsRequest{
		DigestFunction: repb.DigestFunction_BLAKE3,
		Requests:       []*repb.BatchUpdateBlobsRequest_Request{{Digest: blake3.Proto(), Data: data}},
	})
	if err != nil || resp.Responses[0].GetStatus().GetCode() != 0 {
		t.Fatalf("BatchUpdateBlobs of a BLAKE3 blob: %v %v", resp, err)
	}
	fm, err := env.cas.FindMissingBlobs(ctx, &repb.FindMissingBlobsRequest{BlobDigests: []*repb.Digest{blake3.Proto()}})
	if err != nil || len(fm.MissingBlobDigests) != 1 {
		t.Errorf("an unnamed BLAKE3 hash should be looked up as SHA256 and be missing: %v %v", fm, err)
	}
	fm, err = env.cas.FindMissingBlobs(ctx, &repb.FindMissingBlobsRequest{
		DigestFunction: repb.DigestFunction_BLAKE3, BlobDigests: []*repb.Digest{blake3.Proto()},
	})
	if err != nil || len(fm.MissingBlobDigests) != 0 {
		t.Errorf("a named BLAKE3 hash should be present: %v %v", fm, err)
	}
	got, _, err := env.readAll(ctx, &bytestream.ReadRequest{ResourceName: "blobs/blake3/" + blake3.String()})
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("Read blobs/blake3/...: %q %v", got, err)
	}

	// One function per request: the first digest decides.
	resp, err = env.cas.BatchUpdateBlobs(ctx, &repb.BatchUpdateBlobsRequest{
		Requests: []*repb.BatchUpdateBlobsRequest_Request{
			{Digest: sha256Of(data).Proto(), Data: data},
			{Digest: sha1.Proto(), Data: data},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := codes.Code(resp.Responses[1].GetStatus().GetCode()); c != codes.InvalidArgument {
		t.Errorf("a SHA1 digest in a SHA256 request: %v, want INVALID_ARGUMENT", c)
	}

	_, err = env.cas.FindMissingBlobs(ctx, &repb.FindMissingBlobsRequest{BlobDigests: []*repb.Digest{{Hash: "abcdef", SizeBytes: 1}}})
	wantCode(t, err, codes.InvalidArgument, "a hash of no known length")
	_, err = env.cas.FindMissingBlobs(ctx, &repb.FindMissingBlobsRequest{
		DigestFunction: repb.DigestFunction_MD5, BlobDigests: []*repb.Digest{{Hash: strings.Repeat("a", 32), SizeBytes: 1}},
	})
	wantCode(t, err, codes.InvalidArgument, "an unsupported digest function")
}

// forgetfulStore knows nothing of the empty blob, unlike real stores, to
// show that the services keep item 3 by themselves.
type forgetfulStore struct{ BlobStore }

func (f forgetfulStore) FindMissing(ctx context.Context, ds []digest.Digest) ([]digest.Digest, error) {
	missing, err := f.BlobStore.FindMissing(ctx, ds)
	for _, d := range ds {
		if d.IsEmpty() {
			missing = append(missing, d)
		}
	}
	return missing, err
}

func (f forgetfulStore) Get(ctx context.Context, d digest.Digest, offset, limit int64) (io.ReadCloser, error) {
	if d.IsEmpty() {
		return nil, ErrNotFound
	}
	return f.BlobStore.Get(ctx, d, offset, limit)
}

func TestItem03_EmptyBlobIsAlwaysPresent(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, forgetfulStore{NewMemoryStore()})
	for _, fn := range digest.Functions {
		empty := digest.Empty(fn)
		fm, err := env.cas.FindMissingBlobs(ctx, &repb.FindMissingBlobsRequest{DigestFunction: fn, BlobDigests: []*repb.Digest{empty.Proto()}})
		if err != nil || len(fm.MissingBlobDigests) != 0 {
			t.Errorf("%s: FindMissingBlobs reports the empty blob missing: %v %v", fn, fm, err)
		}
	}
	empty := digest.Empty(repb.DigestFunction_SHA256)
	br, err := env.cas.BatchReadBlobs(ctx, &repb.BatchReadBlobsRequest{Digests: []*repb.Digest{empty.Proto()}})
	if err != nil || br.Responses[0].GetStatus().GetCode() != 0 || len(br.Responses[0].Data) != 0 {
		t.Errorf("BatchReadBlobs of the empty blob: %v %v", br, err)
	}
	got, _, err := env.readAll(ctx, &bytestream.ReadRequest{ResourceName: "blobs/" + empty.String()})
	if err != nil || len(got) != 0 {
		t.Errorf("Read of the empty blob: %q %v", got, err)
	}
	got, _, err = env.readAll(ctx, &bytestream.ReadRequest{ResourceName: "compressed-blobs/zstd/" + empty.String()})
	if err != nil || len(got) == 0 || len(zstdDecompress(t, got)) != 0 {
		t.Errorf("compressed Read of the empty blob: %q %v, want a zstd frame of nothing", got, err)
	}
	resp, err := env.writeAll(ctx, "uploads/u/blobs/"+empty.String(), nil, 0, 1)
	if err != nil || resp.CommittedSize != 0 {
		t.Errorf("Write of the empty blob: %v %v", resp, err)
	}
	qs, err := env.bs.QueryWriteStatus(ctx, &bytestream.QueryWriteStatusRequest{ResourceName: "uploads/u2/blobs/" + empty.String()})
	if err != nil || !qs.Complete {
		t.Errorf("QueryWriteStatus of the empty blob: %v %v", qs, err)
	}
}

func TestItem09_FindMissingBlobsReturnsExactlyTheAbsentAndTouchesThePresent(t *testing.T) {
	ctx := context.Background()
	rec := &recordingStore{BlobStore: NewMemoryStore()}
	reg := prometheus.NewRegistry()
	env := newTestEnv(t, rec, func(o *CASServerOptions, _ *ByteStreamServerOptions) { o.Registerer = reg })
	a := put(t, rec, []byte("a"))
	b := put(t, rec, []byte("b"))
	x, y := sha256Of([]byte("x")), sha256Of([]byte("y"))

	fm, err := env.cas.FindMissingBlobs(ctx, &repb.FindMissingBlobsRequest{
		BlobDigests: []*repb.Digest{x.Proto(), a.Proto(), y.Proto(), b.Proto()},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []digest.Digest
	for _, pd := range fm.MissingBlobDigests {
		d, _ := digest.FromProto(repb.DigestFunction_SHA256, pd)
		got = append(got, d)
	}
	if !slices.Equal(got, []digest.Digest{x, y}) {
		t.Errorf("missing = %v, want %v", got, []digest.Digest{x, y})
	}
	// Lifetimes are the store's business: it must have been asked about
	// the present blobs too.
	if !slices.Contains(rec.findMissing, a) || !slices.Contains(rec.findMissing, b) {
		t.Errorf("the store was asked about %v, not about the present blobs", rec.findMissing)
	}
	if v := counterValue(newCASServerMetrics(reg).digestsChecked.WithLabelValues("present")); v != 2 {
		t.Errorf("present digests counted %v, want 2", v)
	}

	_, err = env.cas.FindMissingBlobs(ctx, &repb.FindMissingBlobsRequest{
		BlobDigests: []*repb.Digest{a.Proto(), {Hash: "zz" + a.Hash[2:], SizeBytes: 1}},
	})
	wantCode(t, err, codes.InvalidArgument, "an invalid digest")
	if !strings.Contains(status.Convert(err).Message(), "blob_digests[1]") {
		t.Errorf("the message %q does not name the bad digest", status.Convert(err).Message())
	}
}

func TestItem10_BatchUpdateBlobs(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, NewMemoryStore(), func(o *CASServerOptions, _ *ByteStreamServerOptions) { o.MaxBatchTotalSizeBytes = 1000 })
	good := []byte("good blob")
	bad := []byte("bad blob")
	zgood := compressibleBytes(600)
	zwrong := compressibleBytes(500)
	req := &repb.BatchUpdateBlobsRequest{Requests: []*repb.BatchUpdateBlobsRequest_Request{
		{Digest: sha256Of(good).Proto(), Data: good},
		{Digest: sha256Of([]byte("other")).Proto(), Data: bad},
		{Digest: sha256Of(zgood).Proto(), Data: zstdCompress(t, zgood), Compressor: repb.Compressor_ZSTD},
		{Digest: sha256Of(zwrong[:100]).Proto(), Data: zstdCompress(t, zwrong[:101]), Compressor: repb.Compressor_ZSTD},
		{Digest: sha256Of(good[:3]).Proto(), Data: []byte("not zstd at all"), Compressor: repb.Compressor_ZSTD},
		{Digest: sha256Of(good[:4]).Proto(), Data: good[:4], Compressor: repb.Compressor_DEFLATE},
	}}
	resp, err := env.cas.BatchUpdateBlobs(ctx, req)
	if err != nil {
		t.Fatalf("per-blob failures must not fail the RPC: %v", err)
	}
	want := []codes.Code{codes.OK, codes.InvalidArgument, codes.OK, codes.InvalidArgument, codes.InvalidArgument, codes.InvalidArgument}
	for i, r := range resp.Responses {
		if c := codes.Code(r.GetStatus().GetCode()); c != want[i] {
			t.Errorf("blob %d: %v (%s), want %v", i, c, r.GetStatus().GetMessage(), want[i])
		}
		if r.GetDigest().GetHash() != req.Requests[i].Digest.Hash {
			t.Errorf("blob %d: response names %v", i, r.GetDigest())
		}
	}
	if !stored(t, env.store, sha256Of(good)) || !stored(t, env.store, sha256Of(zgood)) {
		t.Error("the good blobs were not stored")
	}
	for _, d := range []digest.Digest{sha256Of([]byte("other")), sha256Of(zwrong[:100]), sha256Of(good[:3])} {
		if stored(t, env.store, d) {
			t.Errorf("%s was stored though it failed", d)
		}
	}

	big := randomBytes(1001, 1)
	_, err = env.cas.BatchUpdateBlobs(ctx, &repb.BatchUpdateBlobsRequest{Requests: []*repb.BatchUpdateBlobsRequest_Request{
		{Digest: sha256Of(big).Proto(), Data: big},
	}})
	wantCode(t, err, codes.InvalidArgument, "a batch over the limit")
	// A small digest does not smuggle big data past the limit.
	_, err = env.cas.BatchUpdateBlobs(ctx, &repb.BatchUpdateBlobsRequest{Requests: []*repb.BatchUpdateBlobsRequest_Request{
		{Digest: sha256Of(good).Proto(), Data: big},
	}})
	wantCode(t, err, codes.InvalidArgument, "a batch whose data is over the limit")
}

func TestItem10_BatchUpdateBlobsBoundsDecompression(t *testing.T) {
	ctx := context.Background()
	rec := &recordingStore{BlobStore: NewMemoryStore()}
	env := newTestEnv(t, rec)
	bomb := zstdCompress(t, make([]byte, 8<<20)) // tiny, claims to be 10 bytes
	resp, err := env.cas.BatchUpdateBlobs(ctx, &repb.BatchUpdateBlobsRequest{Requests: []*repb.BatchUpdateBlobsRequest_Request{
		{Digest: sha256Of(make([]byte, 10)).Proto(), Data: bomb, Compressor: repb.Compressor_ZSTD},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if c := codes.Code(resp.Responses[0].GetStatus().GetCode()); c != codes.InvalidArgument {
		t.Errorf("decompressing past the digest's size: %v, want INVALID_ARGUMENT", c)
	}
}

func TestItem11_BatchReadBlobs(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	env := newTestEnv(t, NewMemoryStore(), func(o *CASServerOptions, _ *ByteStreamServerOptions) {
		o.MaxBatchTotalSizeBytes = 10000
		o.Registerer = reg
	})
	squeezable := compressibleBytes(4000)
	noise := randomBytes(3000, 2)
	sd, nd := put(t, env.store, squeezable), put(t, env.store, noise)
	missing := sha256Of([]byte("missing"))

	req := &repb.BatchReadBlobsRequest{Digests: []*repb.Digest{sd.Proto(), missing.Proto(), nd.Proto()}}
	resp, err := env.cas.BatchReadBlobs(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if c := codes.Code(resp.Responses[1].GetStatus().GetCode()); c != codes.NotFound {
		t.Errorf("missing blob: %v, want NOT_FOUND", c)
	}
	for i, want := range map[int][]byte{0: squeezable, 2: noise} {
		r := resp.Responses[i]
		if r.GetCompressor() != repb.Compressor_IDENTITY || !bytes.Equal(r.Data, want) {
			t.Errorf("blob %d without accepted compressors: compressor %v, %d bytes", i, r.GetCompressor(), len(r.Data))
		}
	}

	req.AcceptableCompressors = []repb.Compressor_Value{repb.Compressor_ZSTD}
	resp, err = env.cas.BatchReadBlobs(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.Responses[0]; r.GetCompressor() != repb.Compressor_ZSTD || !bytes.Equal(zstdDecompress(t, r.Data), squeezable) {
		t.Errorf("compressible blob with zstd accepted: compressor %v", r.GetCompressor())
	}
	if r := resp.Responses[2]; r.GetCompressor() != repb.Compressor_IDENTITY || !bytes.Equal(r.Data, noise) {
		t.Errorf("incompressible blob: compressor %v, want IDENTITY where zstd does not help", r.GetCompressor())
	}
	if v := counterValue(newCASServerMetrics(reg).batchBytes.WithLabelValues("read")); v != 2*7000 {
		t.Errorf("batch read bytes counted %v, want %d", v, 2*7000)
	}

	big := put(t, env.store, randomBytes(6001, 3))
	_, err = env.cas.BatchReadBlobs(ctx, &repb.BatchReadBlobsRequest{Digests: []*repb.Digest{sd.Proto(), big.Proto()}})
	wantCode(t, err, codes.InvalidArgument, "a batch read over the limit")

	resp, err = env.cas.BatchReadBlobs(ctx, &repb.BatchReadBlobsRequest{Digests: []*repb.Digest{sd.Proto(), {Hash: "nothex", SizeBytes: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if c := codes.Code(resp.Responses[1].GetStatus().GetCode()); c != codes.InvalidArgument {
		t.Errorf("invalid digest in a batch read: %v, want INVALID_ARGUMENT", c)
	}
}

func TestItem13_SplitAndSpliceAreNotOffered(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, NewMemoryStore())
	d := sha256Of([]byte("x"))
	_, err := env.cas.SplitBlob(ctx, &repb.SplitBlobRequest{BlobDigest: d.Proto()})
	wantCode(t, err, codes.Unimplemented, "SplitBlob")
	_, err = env.cas.SpliceBlob(ctx, &repb.SpliceBlobRequest{BlobDigest: d.Proto(), ChunkDigests: []*repb.Digest{d.Proto()}})
	wantCode(t, err, codes.Unimplemented, "SpliceBlob")
}

func TestMetricsShareARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := NewCASServer(NewMemoryStore(), CASServerOptions{Registerer: reg})
	b := NewCASServer(NewMemoryStore(), CASServerOptions{Registerer: reg})
	if a.metrics.digestsChecked != b.metrics.digestsChecked {
		t.Error("a second server on the same registry counts into its own unregistered collector")
	}
	NewByteStreamServer(NewMemoryStore(), ByteStreamServerOptions{Registerer: reg}).Close()
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}
