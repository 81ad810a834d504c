package cas

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/internal/digest"
)

// testEnv is a real gRPC server on a loopback port serving both services,
// and clients for them.
type testEnv struct {
	store BlobStore
	cas   repb.ContentAddressableStorageClient
	bs    bytestream.ByteStreamClient
	bsSrv *ByteStreamServer
	timer *fakeTimers
}

type envOption func(*CASServerOptions, *ByteStreamServerOptions)

func newTestEnv(t testing.TB, store BlobStore, opts ...envOption) *testEnv {
	t.Helper()
	var casOpts CASServerOptions
	var bsOpts ByteStreamServerOptions
	for _, o := range opts {
		o(&casOpts, &bsOpts)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(16 << 20))
	NewCASServer(store, casOpts).Register(srv)
	bsSrv := NewByteStreamServer(store, bsOpts)
	bsSrv.finishGrace = time.Minute // tests always half-close; never wait on it
	timers := &fakeTimers{}
	bsSrv.uploads.afterFunc = timers.afterFunc
	bsSrv.Register(srv)
	go srv.Serve(lis)
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20), grpc.MaxCallSendMsgSize(16<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		bsSrv.Close()
	})
	return &testEnv{
		store: store,
		cas:   repb.NewContentAddressableStorageClient(conn),
		bs:    bytestream.NewByteStreamClient(conn),
		bsSrv: bsSrv,
		timer: timers,
	}
}

// fakeTimers stands in for time.AfterFunc: timers fire when the test says.
type fakeTimers struct {
	mu     sync.Mutex
	timers []*fakeTimer
}

type fakeTimer struct {
	f       func()
	stopped bool
}

func (ft *fakeTimers) afterFunc(_ time.Duration, f func()) func() bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	t := &fakeTimer{f: f}
	ft.timers = append(ft.timers, t)
	return func() bool {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// fireAll runs every timer that is armed, as if the idle timeout passed.
func (ft *fakeTimers) fireAll() {
	ft.mu.Lock()
	var due []func()
	for _, t := range ft.timers {
		if !t.stopped {
			t.stopped = true
			due = append(due, t.f)
		}
	}
	ft.mu.Unlock()
	for _, f := range due {
		f()
	}
}

func sha256Of(b []byte) digest.Digest { return digest.OfBytes(repb.DigestFunction_SHA256, b) }

// randomBytes returns n bytes that do not compress.
func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	var key [32]byte
	key[0], key[1] = byte(seed), byte(seed>>8)
	rand.NewChaCha8(key).Read(b)
	return b
}

// compressibleBytes returns n bytes that compress well.
func compressibleBytes(n int) []byte {
	return bytes.Repeat([]byte("kiln compresses this line nicely. "), n/34+1)[:n]
}

func zstdCompress(t testing.TB, b []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

func zstdDecompress(t testing.TB, b []byte) []byte {
	t.Helper()
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	out, err := dec.DecodeAll(b, nil)
	if err != nil {
		t.Fatalf("decompressing the server's zstd: %v", err)
	}
	return out
}

func put(t testing.TB, s BlobStore, b []byte) digest.Digest {
	t.Helper()
	d := sha256Of(b)
	if err := s.Put(context.Background(), d, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	return d
}

func stored(t testing.TB, s BlobStore, d digest.Digest) bool {
	t.Helper()
	ok, err := Has(context.Background(), s, d)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func wantCode(t testing.TB, err error, code codes.Code, what string) {
	t.Helper()
	if got := status.Code(err); got != code {
		t.Fatalf("%s: got %v (%v), want %v", what, got, err, code)
	}
}

// readAll reads a resource with ByteStream Read and returns its bytes and
// the sizes of the messages that carried them.
func (e *testEnv) readAll(ctx context.Context, req *bytestream.ReadRequest) ([]byte, []int, error) {
	stream, err := e.bs.Read(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	var out []byte
	var sizes []int
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, sizes, nil
		}
		if err != nil {
			return out, sizes, err
		}
		out = append(out, resp.GetData()...)
		sizes = append(sizes, len(resp.GetData()))
	}
}

// writeAll uploads data under name in chunks of chunk bytes, starting at
// offset, with finish_write on the last request.
func (e *testEnv) writeAll(ctx context.Context, name string, data []byte, offset int64, chunk int) (*bytestream.WriteResponse, error) {
	stream, err := e.bs.Write(ctx)
	if err != nil {
		return nil, err
	}
	for first := true; first || len(data) > 0; first = false {
		n := min(chunk, len(data))
		req := &bytestream.WriteRequest{ResourceName: name, WriteOffset: offset, Data: data[:n], FinishWrite: n == len(data)}
		if err := stream.Send(req); err != nil {
			break // the server ended the stream; CloseAndRecv says why
		}
		offset += int64(n)
		data = data[n:]
	}
	return stream.CloseAndRecv()
}

// recordingStore records the digests passed to FindMissing and Put.
type recordingStore struct {
	BlobStore
	mu          sync.Mutex
	findMissing []digest.Digest
	puts        []digest.Digest
}

func (r *recordingStore) FindMissing(ctx context.Context, ds []digest.Digest) ([]digest.Digest, error) {
	r.mu.Lock()
	r.findMissing = append(r.findMissing, ds...)
	r.mu.Unlock()
	return r.BlobStore.FindMissing(ctx, ds)
}

func (r *recordingStore) Put(ctx context.Context, d digest.Digest, rd io.Reader) error {
	r.mu.Lock()
	r.puts = append(r.puts, d)
	r.mu.Unlock()
	return r.BlobStore.Put(ctx, d, rd)
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
