package cas

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/internal/digest"
)

func TestItem14_WriteResourceNames(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, NewMemoryStore())
	data := randomBytes(3000, 14)
	d := sha256Of(data)
	b3 := digest.OfBytes(repb.DigestFunction_BLAKE3, data)
	for _, tc := range []struct {
		write, read string
		d           digest.Digest
	}{
		{"uploads/0d3b1a9e-6c55-4f0f-9b7b-3c2f9d1e0a01/blobs/" + d.String(), "blobs/" + d.String(), d},
		{"team/linux/x86/uploads/u/blobs/" + d.String() + "/some/metadata", "team/linux/x86/blobs/" + d.String(), d},
		{"main/uploads/u/blobs/blake3/" + b3.String(), "main/blobs/blake3/" + b3.String(), b3},
	} {
		fresh := newTestEnv(t, NewMemoryStore())
		resp, err := fresh.writeAll(ctx, tc.write, data, 0, 1000)
		if err != nil || resp.CommittedSize != int64(len(data)) {
			t.Errorf("Write %s: %v %v", tc.write, resp, err)
			continue
		}
		if !stored(t, fresh.store, tc.d) {
			t.Errorf("Write %s did not store %s", tc.write, tc.d)
		}
		got, _, err := fresh.readAll(ctx, &bytestream.ReadRequest{ResourceName: tc.read})
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("Read %s after Write: %d bytes, %v", tc.read, len(got), err)
		}
	}
	for _, bad := range []string{
		"blobs/" + d.String(),                     // a read name
		"uploads/u/blobs/" + d.Hash,               // no size
		"a/blobs/b/uploads/u/blobs/" + d.String(), // reserved word in the instance
		"uploads/u/compressed-blobs/lzma/" + d.String(),
		"uploads/u/compressed-blobs/deflate/" + d.String(), // known, not supported
	} {
		_, err := env.writeAll(ctx, bad, data, 0, 1000)
		wantCode(t, err, codes.InvalidArgument, "Write "+bad)
		if !strings.Contains(status.Convert(err).Message(), bad) && !strings.Contains(status.Convert(err).Message(), "compressor") {
			t.Errorf("Write %s: message %q does not name the problem", bad, status.Convert(err).Message())
		}
	}
}

func TestItem15_WriteMismatchStoresNothing(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, NewMemoryStore())
	data := randomBytes(5000, 15)
	claimed := sha256Of(randomBytes(5000, 16))
	_, err := env.writeAll(ctx, "uploads/u/blobs/"+claimed.String(), data, 0, 1024)
	wantCode(t, err, codes.InvalidArgument, "Write of bytes that do not match the digest")
	if stored(t, env.store, claimed) || stored(t, env.store, sha256Of(data)) {
		t.Error("mismatched bytes were stored")
	}
	_, err = env.bs.QueryWriteStatus(ctx, &bytestream.QueryWriteStatusRequest{ResourceName: "uploads/u/blobs/" + claimed.String()})
	wantCode(t, err, codes.NotFound, "QueryWriteStatus of a failed upload")

	// Too few bytes and finish_write: same.
	d := sha256Of(data)
	_, err = env.writeAll(ctx, "uploads/u2/blobs/"+d.String(), data[:4000], 0, 1024)
	wantCode(t, err, codes.InvalidArgument, "finish_write before all bytes")
	// Too many bytes: rejected as they arrive.
	_, err = env.writeAll(ctx, "uploads/u3/blobs/"+d.String(), append(data, 'x'), 0, 1024)
	wantCode(t, err, codes.InvalidArgument, "more bytes than the digest's size")
	if stored(t, env.store, d) {
		t.Error("an incomplete or overlong upload was stored")
	}
}

func TestItem15_WriteOfAPresentBlobEndsEarly(t *testing.T) {
	ctx := context.Background()
	rec := &recordingStore{BlobStore: NewMemoryStore()}
	env := newTestEnv(t, rec)
	data := randomBytes(10000, 151)
	d := put(t, rec, data)
	stream, err := env.bs.Write(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// One chunk of ten, no finish_write: the server answers anyway.
	if err := stream.Send(&bytestream.WriteRequest{ResourceName: "uploads/u/blobs/" + d.String(), Data: data[:1000]}); err != nil {
		t.Fatal(err)
	}
	var resp bytestream.WriteResponse
	if err := stream.RecvMsg(&resp); err != nil {
		t.Fatal(err)
	}
	if resp.CommittedSize != d.Size {
		t.Errorf("committed_size = %d, want the blob's size %d", resp.CommittedSize, d.Size)
	}
	if len(rec.puts) != 1 {
		t.Errorf("the store saw %d Puts, want only the test's own", len(rec.puts))
	}
}

func TestItem16_WriteOffsetsAreChecked(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, NewMemoryStore())
	data := randomBytes(4000, 160)
	d := sha256Of(data)
	name := "uploads/u/blobs/" + d.String()

	stream, _ := env.bs.Write(ctx)
	stream.Send(&bytestream.WriteRequest{ResourceName: name, Data: data[:1000]})
	stream.Send(&bytestream.WriteRequest{WriteOffset: 1500, Data: data[1500:]})
	_, err := stream.CloseAndRecv()
	wantCode(t, err, codes.InvalidArgument, "a gap in write_offset")

	stream, _ = env.bs.Write(ctx)
	stream.Send(&bytestream.WriteRequest{ResourceName: "uploads/v/blobs/" + d.String(), Data: data[:1000]})
	stream.Send(&bytestream.WriteRequest{ResourceName: "uploads/other/blobs/" + d.String(), WriteOffset: 1000, Data: data[1000:]})
	_, err = stream.CloseAndRecv()
	wantCode(t, err, codes.InvalidArgument, "resource_name changed mid-stream")

	stream, _ = env.bs.Write(ctx)
	stream.Send(&bytestream.WriteRequest{ResourceName: "uploads/w/blobs/" + d.String(), Data: data, FinishWrite: true})
	stream.Send(&bytestream.WriteRequest{WriteOffset: d.Size, Data: []byte("more")})
	_, err = stream.CloseAndRecv()
	wantCode(t, err, codes.InvalidArgument, "data after finish_write")
	if !stored(t, env.store, d) {
		t.Error("the verified blob before the extra data should be stored")
	}
	if !strings.Contains(status.Convert(err).Message(), "finish_write") {
		t.Errorf("message %q does not say what was wrong", status.Convert(err).Message())
	}
}

func TestItem16_ResumableUpload(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, NewMemoryStore())
	data := randomBytes(6000, 161)
	d := sha256Of(data)
	name := "inst/uploads/u/blobs/" + d.String()
	query := func() (*bytestream.QueryWriteStatusResponse, error) {
		return env.bs.QueryWriteStatus(ctx, &bytestream.QueryWriteStatusRequest{ResourceName: name})
	}
	_, err := query()
	wantCode(t, err, codes.NotFound, "QueryWriteStatus before any Write")

	// A Write that ends without finish_write: 2000 bytes committed.
	stream, _ := env.bs.Write(ctx)
	stream.Send(&bytestream.WriteRequest{ResourceName: name, Data: data[:2000]})
	resp, err := stream.CloseAndRecv()
	if err != nil || resp.CommittedSize != 2000 {
		t.Fatalf("partial Write: %v %v", resp, err)
	}
	qs, err := query()
	if err != nil || qs.CommittedSize != 2000 || qs.Complete {
		t.Fatalf("QueryWriteStatus after 2000 bytes: %v %v", qs, err)
	}

	// A stream that breaks after 1000 more bytes reached the store.
	sctx, cancel := context.WithCancel(ctx)
	stream, _ = env.bs.Write(sctx)
	stream.Send(&bytestream.WriteRequest{ResourceName: name, WriteOffset: 2000, Data: data[2000:3000]})
	waitCommitted(t, env, name, 3000)
	cancel()
	qs, err = query()
	if err != nil || qs.CommittedSize != 3000 || qs.Complete {
		t.Fatalf("QueryWriteStatus after a broken stream: %v %v", qs, err)
	}
	if stored(t, env.store, d) {
		t.Fatal("an unfinished upload is visible")
	}

	// A resume at the wrong offset is refused, without losing anything.
	_, err = env.writeAll(ctx, name, data[2500:], 2500, 1000)
	wantCode(t, err, codes.Aborted, "resuming at a stale offset")
	if qs, _ = query(); qs.GetCommittedSize() != 3000 {
		t.Fatalf("committed_size went from 3000 to %d", qs.GetCommittedSize())
	}

	resp, err = env.writeAll(ctx, name+"/meta", data[3000:], 3000, 1000)
	if err != nil || resp.CommittedSize != d.Size {
		t.Fatalf("resumed Write: %v %v", resp, err)
	}
	qs, err = query()
	if err != nil || !qs.Complete || qs.CommittedSize != d.Size {
		t.Errorf("QueryWriteStatus after the resumed Write: %v %v", qs, err)
	}
	got, _, err := env.readAll(ctx, &bytestream.ReadRequest{ResourceName: "inst/blobs/" + d.String()})
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("Read after a resumed upload: %d bytes, %v", len(got), err)
	}
}

// waitCommitted polls QueryWriteStatus until the server has taken want
// bytes of an upload; the test's deadline bounds it.
func waitCommitted(t *testing.T, env *testEnv, name string, want int64) {
	t.Helper()
	for {
		qs, err := env.bs.QueryWriteStatus(context.Background(), &bytestream.QueryWriteStatusRequest{ResourceName: name})
		if err == nil && qs.CommittedSize == want {
			return
		}
		if err != nil && status.Code(err) != codes.NotFound {
			t.Fatal(err)
		}
	}
}

func TestItem16_WriteAtOffsetZeroStartsOver(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, NewMemoryStore())
	data := randomBytes(3000, 162)
	d := sha256Of(data)
	name := "uploads/u/blobs/" + d.String()
	stream, _ := env.bs.Write(ctx)
	stream.Send(&bytestream.WriteRequest{ResourceName: name, Data: []byte("garbage that will never verify")})
	if _, err := stream.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	resp, err := env.writeAll(ctx, name, data, 0, 1000)
	if err != nil || resp.CommittedSize != d.Size || !stored(t, env.store, d) {
		t.Errorf("starting over at offset 0: %v %v", resp, err)
	}
}

func TestItem16_IdleUploadsExpire(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, NewMemoryStore())
	data := randomBytes(3000, 163)
	d := sha256Of(data)
	name := "uploads/u/blobs/" + d.String()
	stream, _ := env.bs.Write(ctx)
	stream.Send(&bytestream.WriteRequest{ResourceName: name, Data: data[:1000]})
	if _, err := stream.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	env.timer.fireAll()
	_, err := env.bs.QueryWriteStatus(ctx, &bytestream.QueryWriteStatusRequest{ResourceName: name})
	wantCode(t, err, codes.NotFound, "QueryWriteStatus of an expired upload")
	_, err = env.writeAll(ctx, name, data[1000:], 1000, 1000)
	wantCode(t, err, codes.Aborted, "resuming an expired upload")
	if stored(t, env.store, d) {
		t.Error("an expired upload was stored")
	}
	env.bsSrv.uploads.mu.Lock()
	left := len(env.bsSrv.uploads.sessions)
	env.bsSrv.uploads.mu.Unlock()
	if left != 0 {
		t.Errorf("%d sessions left after expiry", left)
	}
}

func TestItem17_CompressedWrite(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, NewMemoryStore())
	data := compressibleBytes(300 << 10)
	d := sha256Of(data)
	z := zstdCompress(t, data)
	name := "uploads/u/compressed-blobs/zstd/" + d.String()

	// In two Writes, offsets counting compressed bytes.
	half := len(z) / 2
	stream, _ := env.bs.Write(ctx)
	stream.Send(&bytestream.WriteRequest{ResourceName: name, Data: z[:half]})
	resp, err := stream.CloseAndRecv()
	if err != nil || resp.CommittedSize != int64(half) {
		t.Fatalf("first half: %v %v", resp, err)
	}
	qs, err := env.bs.QueryWriteStatus(ctx, &bytestream.QueryWriteStatusRequest{ResourceName: name})
	if err != nil || qs.CommittedSize != int64(half) {
		t.Fatalf("QueryWriteStatus: %v %v", qs, err)
	}
	resp, err = env.writeAll(ctx, name, z[half:], int64(half), 1000)
	if err != nil || resp.CommittedSize != int64(len(z)) {
		t.Fatalf("second half: %v %v", resp, err)
	}
	got, _, err := env.readAll(ctx, &bytestream.ReadRequest{ResourceName: "blobs/" + d.String()})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the blob is not stored uncompressed: %d bytes, %v", len(got), err)
	}

	// Already present: committed_size -1.
	resp, err = env.writeAll(ctx, "uploads/v/compressed-blobs/zstd/"+d.String(), z, 0, 1000)
	if err != nil || resp.CommittedSize != -1 {
		t.Errorf("compressed Write of a present blob: %v %v, want committed_size -1", resp, err)
	}

	other := compressibleBytes(1000)
	for what, tc := range map[string]struct {
		d digest.Digest
		z []byte
	}{
		"another blob's bytes":     {sha256Of(other[:999]), zstdCompress(t, other[:998])},
		"bytes that are not zstd":  {sha256Of(other), other},
		"a truncated zstd stream":  {sha256Of(other), zstdCompress(t, other)[:20]},
		"more bytes than the size": {sha256Of(other[:10]), zstdCompress(t, other)},
	} {
		_, err := env.writeAll(ctx, "uploads/w/compressed-blobs/zstd/"+tc.d.String(), tc.z, 0, 7)
		wantCode(t, err, codes.InvalidArgument, "compressed Write of "+what)
		if stored(t, env.store, tc.d) {
			t.Errorf("compressed Write of %s stored something", what)
		}
	}
}

func TestWriteTakeOverAndConcurrentUploads(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, NewMemoryStore())
	data := randomBytes(200<<10, 170)
	d := sha256Of(data)

	// Many clients upload the same blob at once under their own uuids.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			resp, err := env.writeAll(ctx, "uploads/u"+string(rune('a'+i))+"/blobs/"+d.String(), data, 0, 16<<10)
			if err == nil && resp.CommittedSize != d.Size {
				err = io.ErrShortWrite
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent upload: %v", err)
		}
	}
	got, _, err := env.readAll(ctx, &bytestream.ReadRequest{ResourceName: "blobs/" + d.String()})
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("after concurrent uploads: %d bytes, %v", len(got), err)
	}

	// A second stream on the same upload takes over; the first loses it.
	data2 := randomBytes(5000, 171)
	d2 := sha256Of(data2)
	name := "uploads/same/blobs/" + d2.String()
	first, _ := env.bs.Write(ctx)
	first.Send(&bytestream.WriteRequest{ResourceName: name, Data: data2[:1000]})
	waitCommitted(t, env, name, 1000)
	resp, err := env.writeAll(ctx, name, data2[1000:], 1000, 1000)
	if err != nil || resp.CommittedSize != d2.Size {
		t.Fatalf("taking over: %v %v", resp, err)
	}
	first.Send(&bytestream.WriteRequest{WriteOffset: 1000, Data: data2[1000:2000]})
	_, err = first.CloseAndRecv()
	if err == nil {
		t.Error("the superseded stream's write succeeded")
	}
}
