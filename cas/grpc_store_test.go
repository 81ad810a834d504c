package cas_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/cas/blobstoretest"
	"github.com/kilnbuild/kiln/internal/digest"
)

// remoteCAS is a Kiln CAS served on a loopback port, with a record of the
// calls it received.
type remoteCAS struct {
	backend *cas.MemoryStore
	conn    *grpc.ClientConn

	mu           sync.Mutex
	calls        map[string]int
	names        []string // ByteStream resource names, in order
	findRequests []*repb.FindMissingBlobsRequest
	refuseBatch  bool
}

func newRemoteCAS(t *testing.T) *remoteCAS {
	t.Helper()
	r := &remoteCAS{backend: cas.NewMemoryStore(), calls: map[string]int{}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(r.unary), grpc.StreamInterceptor(r.stream))
	cas.NewCASServer(r.backend, cas.CASServerOptions{}).Register(srv)
	bs := cas.NewByteStreamServer(r.backend, cas.ByteStreamServerOptions{})
	bs.Register(srv)
	go srv.Serve(lis)
	r.conn, err = grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.conn.Close()
		srv.Stop()
		bs.Close()
	})
	return r
}

func (r *remoteCAS) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	r.mu.Lock()
	r.calls[info.FullMethod]++
	if fm, ok := req.(*repb.FindMissingBlobsRequest); ok {
		r.findRequests = append(r.findRequests, fm)
	}
	refuse := r.refuseBatch && strings.HasSuffix(info.FullMethod, "/BatchUpdateBlobs")
	r.mu.Unlock()
	if refuse {
		return nil, status.Error(codes.Unimplemented, "no batches here")
	}
	return h(ctx, req)
}

func (r *remoteCAS) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	r.mu.Lock()
	r.calls[info.FullMethod]++
	r.mu.Unlock()
	return h(srv, &namingStream{ServerStream: ss, r: r})
}

// namingStream records the resource name of each Read and Write.
type namingStream struct {
	grpc.ServerStream
	r *remoteCAS
}

func (s *namingStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	var name string
	switch req := m.(type) {
	case *bytestream.ReadRequest:
		name = req.GetResourceName()
	case *bytestream.WriteRequest:
		name = req.GetResourceName()
	}
	if err == nil && name != "" {
		s.r.mu.Lock()
		s.r.names = append(s.r.names, name)
		s.r.mu.Unlock()
	}
	return err
}

func (r *remoteCAS) count(method string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for m, c := range r.calls {
		if strings.HasSuffix(m, "/"+method) {
			n += c
		}
	}
	return n
}

func TestGRPCStoreConformance(t *testing.T) {
	blobstoretest.Run(t, func(t *testing.T) cas.BlobStore {
		return cas.NewGRPCStore(newRemoteCAS(t).conn, "")
	})
}

func TestGRPCStoreUsesBatchesForSmallBlobsAndStreamsForLarge(t *testing.T) {
	r := newRemoteCAS(t)
	s := cas.NewGRPCStore(r.conn, "team/main")
	ctx := context.Background()

	small := bytes.Repeat([]byte("s"), 1000)
	large := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB: several chunks
	dSmall := digest.OfBytes(repb.DigestFunction_SHA256, small)
	dLarge := digest.OfBytes(repb.DigestFunction_BLAKE3, large)
	if err := s.Put(ctx, dSmall, bytes.NewReader(small)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, dLarge, bytes.NewReader(large)); err != nil {
		t.Fatal(err)
	}
	if r.count("BatchUpdateBlobs") != 1 || r.count("Write") != 1 {
		t.Errorf("BatchUpdateBlobs %d, Write %d; want 1 each", r.count("BatchUpdateBlobs"), r.count("Write"))
	}
	upload := regexp.MustCompile(`^team/main/uploads/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/blobs/blake3/` + dLarge.Hash + `/3145728$`)
	if len(r.names) != 1 || !upload.MatchString(r.names[0]) {
		t.Errorf("upload names %q", r.names)
	}
	// Both are stored intact, under their own functions.
	for _, c := range []struct {
		d    digest.Digest
		want []byte
	}{{dSmall, small}, {dLarge, large}} {
		rc, err := r.backend.Get(ctx, c.d, 0, 0)
		if err != nil {
			t.Fatalf("%s not stored: %v", c.d, err)
		}
		got, _ := io.ReadAll(rc)
		if !bytes.Equal(got, c.want) {
			t.Errorf("%s stored with other content", c.d)
		}
	}

	got, err := io.ReadAll(mustGet(t, s, dLarge, 1<<20+5, 10))
	if err != nil || string(got) != string(large[1<<20+5:1<<20+15]) {
		t.Errorf("ranged read: %q, %v", got, err)
	}
	if last := r.names[len(r.names)-1]; last != "team/main/blobs/blake3/"+dLarge.Hash+"/3145728" {
		t.Errorf("read name %q", last)
	}
}

func mustGet(t *testing.T, s cas.BlobStore, d digest.Digest, offset, limit int64) io.Reader {
	t.Helper()
	rc, err := s.Get(context.Background(), d, offset, limit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	return rc
}

func TestGRPCStoreStreamsWhenBatchesAreRefused(t *testing.T) {
	r := newRemoteCAS(t)
	r.refuseBatch = true
	s := cas.NewGRPCStore(r.conn, "")
	content := []byte("small but unbatchable")
	d := digest.OfBytes(repb.DigestFunction_SHA256, content)
	if err := s.Put(context.Background(), d, bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	if ok, _ := cas.Has(context.Background(), r.backend, d); !ok || r.count("Write") != 1 {
		t.Errorf("stored %v after %d Writes", ok, r.count("Write"))
	}
}

func TestGRPCStoreFindMissingSplitsByFunctionAndSize(t *testing.T) {
	r := newRemoteCAS(t)
	s := cas.NewGRPCStore(r.conn, "")
	cas.SetGRPCStoreFindMissingBatch(s, 7)
	ctx := context.Background()
	var ds, wantMissing []digest.Digest
	for i := range 40 {
		fn := repb.DigestFunction_SHA256
		if i%3 == 0 {
			fn = repb.DigestFunction_BLAKE3
		}
		content := []byte{byte(i), 'x'}
		d := digest.OfBytes(fn, content)
		if i%2 == 0 {
			if err := r.backend.Put(ctx, d, bytes.NewReader(content)); err != nil {
				t.Fatal(err)
			}
		} else {
			wantMissing = append(wantMissing, d)
		}
		ds = append(ds, d)
	}
	ds = append(ds, digest.Empty(repb.DigestFunction_SHA256), ds[1]) // the empty blob, and a duplicate
	wantMissing = append(wantMissing, ds[1])
	got, err := s.FindMissing(ctx, ds)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(wantMissing) {
		t.Fatalf("missing %v, want %v", got, wantMissing)
	}
	for i := range got {
		if got[i] != wantMissing[i] {
			t.Errorf("missing[%d] = %s, want %s (order kept)", i, got[i], wantMissing[i])
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.findRequests) < 6 {
		t.Errorf("%d FindMissingBlobs requests, want batches of at most 7", len(r.findRequests))
	}
	for _, req := range r.findRequests {
		if len(req.GetBlobDigests()) > 7 {
			t.Errorf("a request carries %d digests", len(req.GetBlobDigests()))
		}
		for _, pd := range req.GetBlobDigests() {
			if _, err := digest.FromProto(req.GetDigestFunction(), pd); err != nil || pd.GetSizeBytes() == 0 {
				t.Errorf("request for %s carries %v (%v)", req.GetDigestFunction(), pd, err)
			}
		}
	}
}

func TestGRPCStoreErrors(t *testing.T) {
	r := newRemoteCAS(t)
	s := cas.NewGRPCStore(r.conn, "")
	ctx := context.Background()
	absent := digest.OfBytes(repb.DigestFunction_SHA256, []byte("absent"))
	_, err := s.Get(ctx, absent, 0, 0)
	if !errors.Is(err, cas.ErrNotFound) || status.Code(err) != codes.NotFound {
		t.Errorf("Get of a missing blob: %v, want ErrNotFound wrapping the NOT_FOUND status", err)
	}

	// A large Put whose reader lies is aborted before finish_write.
	large := bytes.Repeat([]byte("L"), 2<<20+1)
	d := digest.OfBytes(repb.DigestFunction_SHA256, large)
	wrong := append([]byte(nil), large...)
	wrong[len(wrong)-1] = 'X'
	if err := s.Put(ctx, d, bytes.NewReader(wrong)); !errors.Is(err, digest.ErrMismatch) {
		t.Errorf("Put of wrong content: %v, want ErrMismatch", err)
	}
	if ok, _ := cas.Has(ctx, r.backend, d); ok {
		t.Error("wrong content was committed")
	}

	// Put of a blob the server has already ends early and still succeeds.
	if err := s.Put(ctx, d, bytes.NewReader(large)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, d, bytes.NewReader(large)); err != nil {
		t.Errorf("second Put: %v", err)
	}

	var closed *grpc.ClientConn
	closed, err = grpc.NewClient("127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	if _, err := cas.NewGRPCStore(closed, "").FindMissing(ctx, []digest.Digest{absent}); err == nil || status.Code(err) == codes.OK {
		t.Errorf("FindMissing over a closed connection: %v", err)
	}
}
