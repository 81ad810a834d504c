package cas

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc/codes"

	"github.com/kilnbuild/kiln/internal/digest"
)

// hangGuard bounds a test that would otherwise hang when the behaviour it
// checks is broken; it is never what a passing test waits for.
func hangGuard(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestItem18_Read(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, NewMemoryStore())
	data := randomBytes(10000, 18)
	d := put(t, env.store, data)
	name := "blobs/" + d.String()

	for _, tc := range []struct {
		offset, limit int64
		want          []byte
	}{
		{0, 0, data},
		{100, 0, data[100:]},
		{100, 50, data[100:150]},
		{9990, 1000, data[9990:]},
		{10000, 0, nil}, // offset == size: nothing, no error
	} {
		got, _, err := env.readAll(ctx, &bytestream.ReadRequest{ResourceName: name, ReadOffset: tc.offset, ReadLimit: tc.limit})
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("Read offset %d limit %d: %d bytes, %v; want %d bytes", tc.offset, tc.limit, len(got), err, len(tc.want))
		}
	}
	_, _, err := env.readAll(ctx, &bytestream.ReadRequest{ResourceName: "blobs/" + sha256Of([]byte("no")).String()})
	wantCode(t, err, codes.NotFound, "Read of a missing blob")
	_, _, err = env.readAll(ctx, &bytestream.ReadRequest{ResourceName: name, ReadOffset: -1})
	wantCode(t, err, codes.OutOfRange, "negative read_offset")
	_, _, err = env.readAll(ctx, &bytestream.ReadRequest{ResourceName: name, ReadOffset: 10001})
	wantCode(t, err, codes.OutOfRange, "read_offset past the end")
	_, _, err = env.readAll(ctx, &bytestream.ReadRequest{ResourceName: name, ReadLimit: -1})
	wantCode(t, err, codes.InvalidArgument, "negative read_limit")
	_, _, err = env.readAll(ctx, &bytestream.ReadRequest{ResourceName: "uploads/u/" + name})
	wantCode(t, err, codes.InvalidArgument, "Read of an upload name")
	_, _, err = env.readAll(ctx, &bytestream.ReadRequest{ResourceName: "compressed-blobs/deflate/" + d.String()})
	wantCode(t, err, codes.InvalidArgument, "Read with an unsupported compressor")
}

func TestItem18_CompressedRead(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	env := newTestEnv(t, NewMemoryStore(), func(_ *CASServerOptions, o *ByteStreamServerOptions) { o.Registerer = reg })
	data := compressibleBytes(3 << 20)
	d := put(t, env.store, data)
	name := "compressed-blobs/zstd/" + d.String()

	z, sizes, err := env.readAll(ctx, &bytestream.ReadRequest{ResourceName: name})
	if err != nil || !bytes.Equal(zstdDecompress(t, z), data) {
		t.Fatalf("compressed Read: %d bytes, %v", len(z), err)
	}
	if len(z) >= len(data)/10 {
		t.Errorf("%d compressible bytes came as %d: not compressed", len(data), len(z))
	}
	for _, n := range sizes {
		if n > readChunkBytes {
			t.Errorf("a compressed chunk of %d bytes", n)
		}
	}
	if v := counterValue(newByteStreamMetrics(reg).bytes.WithLabelValues("read", "zstd")); v != float64(len(z)) {
		t.Errorf("zstd bytes read counted %v, want %d", v, len(z))
	}
	// The offset counts uncompressed bytes.
	z, _, err = env.readAll(ctx, &bytestream.ReadRequest{ResourceName: name, ReadOffset: 1000})
	if err != nil || !bytes.Equal(zstdDecompress(t, z), data[1000:]) {
		t.Errorf("compressed Read at offset 1000: %v", err)
	}
	_, _, err = env.readAll(ctx, &bytestream.ReadRequest{ResourceName: name, ReadLimit: 10})
	wantCode(t, err, codes.InvalidArgument, "compressed Read with a read_limit")
	_, _, err = env.readAll(ctx, &bytestream.ReadRequest{ResourceName: name, ReadOffset: int64(len(data)) + 1})
	wantCode(t, err, codes.OutOfRange, "compressed Read past the end")
	_, _, err = env.readAll(ctx, &bytestream.ReadRequest{ResourceName: "compressed-blobs/zstd/" + sha256Of([]byte("no")).String()})
	wantCode(t, err, codes.NotFound, "compressed Read of a missing blob")
}

// gatedStore serves Gets whose readers stop after `open` bytes until
// release is closed, and Puts that report their first byte on started.
type gatedStore struct {
	BlobStore
	open    int64
	release chan struct{}
	started chan struct{}
}

func (g *gatedStore) Get(ctx context.Context, d digest.Digest, offset, limit int64) (io.ReadCloser, error) {
	rc, err := g.BlobStore.Get(ctx, d, offset, limit)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(io.LimitReader(rc, g.open), gate{ctx, g.release, rc}), rc}, nil
}

type gate struct {
	ctx     context.Context
	release chan struct{}
	r       io.Reader
}

func (g gate) Read(p []byte) (int, error) {
	select {
	case <-g.release:
		return g.r.Read(p)
	case <-g.ctx.Done():
		return 0, g.ctx.Err()
	}
}

func (g *gatedStore) Put(ctx context.Context, d digest.Digest, r io.Reader) error {
	first := make([]byte, 1)
	if _, err := io.ReadFull(r, first); err != nil {
		return err
	}
	close(g.started)
	return g.BlobStore.Put(ctx, d, io.MultiReader(bytes.NewReader(first), r))
}

func TestItem19_LargeBlobsStreamInBoundedChunks(t *testing.T) {
	ctx := hangGuard(t)
	gs := &gatedStore{BlobStore: NewMemoryStore(), open: 2 << 20, release: make(chan struct{}), started: make(chan struct{})}
	env := newTestEnv(t, gs)
	data := randomBytes(5<<20+3, 19)
	d := put(t, gs.BlobStore, data)

	// Read: the first chunks must arrive while the store holds the rest
	// back, so the server cannot be reading the whole blob first.
	stream, err := env.bs.Read(ctx, &bytestream.ReadRequest{ResourceName: "blobs/" + d.String()})
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil {
		t.Fatalf("no chunk came before the whole blob was read: %v", err)
	}
	close(gs.release)
	got := first.Data
	chunks := 1
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) > readChunkBytes {
			t.Errorf("a chunk of %d bytes", len(resp.Data))
		}
		got = append(got, resp.Data...)
		chunks++
	}
	if !bytes.Equal(got, data) || chunks != 6 {
		t.Errorf("read %d bytes in %d chunks, want %d in 6", len(got), chunks, len(data))
	}

	// Write: the store must see the first bytes before the client sent
	// the rest.
	data2 := randomBytes(3<<20, 191)
	d2 := sha256Of(data2)
	ws, err := env.bs.Write(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ws.Send(&bytestream.WriteRequest{ResourceName: "uploads/u/blobs/" + d2.String(), Data: data2[:1<<20]})
	select {
	case <-gs.started:
	case <-ctx.Done():
		t.Fatal("the store got nothing before the upload was complete")
	}
	for off := 1 << 20; off < len(data2); off += 1 << 20 {
		ws.Send(&bytestream.WriteRequest{WriteOffset: int64(off), Data: data2[off : off+1<<20], FinishWrite: off+1<<20 == len(data2)})
	}
	resp, err := ws.CloseAndRecv()
	if err != nil || resp.CommittedSize != d2.Size {
		t.Fatalf("streamed Write: %v %v", resp, err)
	}
}

// fakeStreams serves one live stream and knows one expired name.
type fakeStreams struct {
	name, expired string
	r             io.ReadCloser
}

func (f *fakeStreams) OpenStream(ctx context.Context, name string) (io.ReadCloser, bool, error) {
	switch name {
	case f.name:
		return f.r, true, nil
	case f.expired:
		return nil, true, fmt.Errorf("stream %s: %w", name, ErrNotFound)
	}
	return nil, false, nil
}

func TestItem20_LiveStreamsAreReadable(t *testing.T) {
	ctx := hangGuard(t)
	pr, pw := io.Pipe()
	src := &fakeStreams{name: "main/operations/op1/stdout", expired: "main/operations/op0/stdout", r: pr}
	env := newTestEnv(t, NewMemoryStore(), func(_ *CASServerOptions, o *ByteStreamServerOptions) { o.Streams = src })

	stream, err := env.bs.Read(ctx, &bytestream.ReadRequest{ResourceName: src.name, ReadOffset: 2})
	if err != nil {
		t.Fatal(err)
	}
	go pw.Write([]byte("> compiling"))
	resp, err := stream.Recv()
	if err != nil || string(resp.Data) != "compiling" {
		t.Fatalf("first live chunk: %q %v (a live stream must not wait for its end)", resp.GetData(), err)
	}
	go func() {
		pw.Write([]byte(" done\n"))
		pw.Close()
	}()
	rest, _, err := collect(stream)
	if err != nil || string(rest) != " done\n" {
		t.Errorf("rest of the live stream: %q %v", rest, err)
	}

	_, _, err = env.readAll(ctx, &bytestream.ReadRequest{ResourceName: src.expired})
	wantCode(t, err, codes.NotFound, "Read of an expired stream")
	_, _, err = env.readAll(ctx, &bytestream.ReadRequest{ResourceName: "main/operations/unknown"})
	wantCode(t, err, codes.InvalidArgument, "Read of a name nobody hands out")
}

func collect(stream bytestream.ByteStream_ReadClient) ([]byte, int, error) {
	var out []byte
	n := 0
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			return out, n, nil
		}
		if err != nil {
			return out, n, err
		}
		out = append(out, resp.Data...)
		n++
	}
}

func TestReadNamesTheProblem(t *testing.T) {
	env := newTestEnv(t, NewMemoryStore())
	_, _, err := env.readAll(context.Background(), &bytestream.ReadRequest{ResourceName: "blobs/xyz/12"})
	wantCode(t, err, codes.InvalidArgument, "a bad hash")
	if !strings.Contains(err.Error(), "blobs/xyz/12") {
		t.Errorf("message %q does not name the resource", err)
	}
}
