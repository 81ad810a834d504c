package grpcmem

import (
	"bytes"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// pattern returns n bytes that differ from both poison markers at most
// positions and depend on seed.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

func TestCodecMarshalsExactlyLikeProto(t *testing.T) {
	pool := &poisonedPool{pool: NewPool()}
	c := NewCodec(pool)
	for _, size := range []int{10, 1000, 5000, 1 << 20, 3<<20 + 7} {
		m := &repb.BatchReadBlobsResponse{Responses: []*repb.BatchReadBlobsResponse_Response{
			{Digest: &repb.Digest{Hash: "ab", SizeBytes: int64(size)}, Data: pattern(size, 1)},
		}}
		want, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Marshal(m)
		if err != nil {
			t.Fatalf("Marshal of %d bytes: %v", size, err)
		}
		if !bytes.Equal(got.Materialize(), want) {
			t.Errorf("Marshal of %d bytes differs from proto.Marshal", size)
		}
		got.Free()
	}
	if pool.gets.Load() == 0 {
		t.Error("Marshal never used the pool")
	}
}

func TestCodecUnmarshalsSplitMessages(t *testing.T) {
	pool := &poisonedPool{pool: NewPool()}
	c := NewCodec(pool)
	want := &repb.BatchUpdateBlobsRequest{InstanceName: "main", Requests: []*repb.BatchUpdateBlobsRequest_Request{
		{Digest: &repb.Digest{Hash: "cd", SizeBytes: 70001}, Data: pattern(70001, 2)},
	}}
	wire, err := proto.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	// As gRPC hands it over: one buffer per HTTP/2 frame.
	var frames mem.BufferSlice
	for rest := wire; len(rest) > 0; {
		n := min(len(rest), 16384)
		frames = append(frames, mem.SliceBuffer(rest[:n]))
		rest = rest[n:]
	}
	got := &repb.BatchUpdateBlobsRequest{}
	if err := c.Unmarshal(frames, got); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) {
		t.Error("the decoded message differs")
	}
	if pool.gets.Load() == 0 {
		t.Error("Unmarshal never used the pool")
	}
}

func TestCodecRejectsNonProtoValues(t *testing.T) {
	c := NewCodec(NewPool())
	if _, err := c.Marshal("not a message"); err == nil {
		t.Error("Marshal of a string succeeded")
	}
	if err := c.Unmarshal(nil, 42); err == nil {
		t.Error("Unmarshal into an int succeeded")
	}
}
