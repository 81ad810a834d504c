package worker

import (
	"bytes"
	"context"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

const testFn = repb.DigestFunction_SHA256

func putBlob(t *testing.T, s cas.BlobStore, b []byte) digest.Digest {
	t.Helper()
	d := digest.OfBytes(testFn, b)
	if err := s.Put(context.Background(), d, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	return d
}

func putProto(t *testing.T, s cas.BlobStore, m proto.Message) digest.Digest {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return putBlob(t, s, b)
}

func readBlob(t *testing.T, s cas.BlobStore, d *repb.Digest) string {
	t.Helper()
	dd, err := digest.FromProto(testFn, d)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.Get(context.Background(), dd, 0, 0)
	if err != nil {
		t.Fatalf("reading %s: %v", dd, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func file(name string, d digest.Digest, executable bool) *repb.FileNode {
	return &repb.FileNode{Name: name, Digest: d.Proto(), IsExecutable: executable}
}

func dirNode(name string, d digest.Digest) *repb.DirectoryNode {
	return &repb.DirectoryNode{Name: name, Digest: d.Proto()}
}

func symlink(name, target string) *repb.SymlinkNode {
	return &repb.SymlinkNode{Name: name, Target: target}
}

// countingStore counts the calls made to a BlobStore, and can hold Gets
// until released.
type countingStore struct {
	cas.BlobStore
	mu          sync.Mutex
	gets        map[digest.Digest]int
	findMissing int
	gate        chan struct{} // if non-nil, Get waits for it to close
}

func newCountingStore(s cas.BlobStore) *countingStore {
	return &countingStore{BlobStore: s, gets: make(map[digest.Digest]int)}
}

func (s *countingStore) Get(ctx context.Context, d digest.Digest, offset, limit int64) (io.ReadCloser, error) {
	s.mu.Lock()
	s.gets[d]++
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	return s.BlobStore.Get(ctx, d, offset, limit)
}

func (s *countingStore) FindMissing(ctx context.Context, ds []digest.Digest) ([]digest.Digest, error) {
	s.mu.Lock()
	s.findMissing++
	s.mu.Unlock()
	return s.BlobStore.FindMissing(ctx, ds)
}

func (s *countingStore) getsOf(d digest.Digest) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets[d]
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func testMetrics() *metrics { return newMetrics(nil) }

// waitABit yields while polling for a condition another goroutine sets.
func waitABit() { time.Sleep(time.Millisecond) }
