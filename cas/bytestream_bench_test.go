package cas

import (
	"context"
	"io"
	"sync"
	"testing"

	"google.golang.org/genproto/googleapis/bytestream"

	"github.com/kilnbuild/kiln/internal/digest"
)

const benchBlobBytes = 64 << 20

// BenchmarkByteStreamWrite64MiB uploads a 64 MiB blob over loopback gRPC
// into the memory store, in 1 MiB requests as Bazel sends them.
func BenchmarkByteStreamWrite64MiB(b *testing.B) {
	data := randomBytes(benchBlobBytes, 1)
	d := sha256Of(data)
	store := &swappableStore{}
	store.swap()
	env := newTestEnv(b, store)
	b.SetBytes(benchBlobBytes)
	b.ReportAllocs()
	for b.Loop() {
		store.swap() // an empty store: the blob must really be written
		resp, err := env.writeAll(context.Background(), "uploads/u/blobs/"+d.String(), data, 0, 1<<20)
		if err != nil || resp.CommittedSize != d.Size {
			b.Fatal(resp, err)
		}
	}
}

// swappableStore is a memory store that swap empties.
type swappableStore struct {
	mu sync.Mutex
	BlobStore
}

func (s *swappableStore) swap() {
	s.mu.Lock()
	s.BlobStore = NewMemoryStore()
	s.mu.Unlock()
}

func (s *swappableStore) current() BlobStore {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.BlobStore
}

func (s *swappableStore) Put(ctx context.Context, d digest.Digest, r io.Reader) error {
	return s.current().Put(ctx, d, r)
}

func (s *swappableStore) FindMissing(ctx context.Context, ds []digest.Digest) ([]digest.Digest, error) {
	return s.current().FindMissing(ctx, ds)
}

// BenchmarkByteStreamRead64MiB downloads a 64 MiB blob over loopback gRPC
// from the memory store.
func BenchmarkByteStreamRead64MiB(b *testing.B) {
	env := newTestEnv(b, NewMemoryStore())
	d := put(b, env.store, randomBytes(benchBlobBytes, 2))
	b.SetBytes(benchBlobBytes)
	b.ReportAllocs()
	for b.Loop() {
		stream, err := env.bs.Read(context.Background(), &bytestream.ReadRequest{ResourceName: "blobs/" + d.String()})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			resp, err := stream.Recv()
			if err != nil {
				break
			}
			n += len(resp.Data)
		}
		if n != benchBlobBytes {
			b.Fatalf("read %d bytes", n)
		}
	}
}

func (s *swappableStore) Get(ctx context.Context, d digest.Digest, offset, limit int64) (io.ReadCloser, error) {
	return s.current().Get(ctx, d, offset, limit)
}
