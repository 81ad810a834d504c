package actioncache

import (
	"bytes"
	"context"
	"net"
	"sync"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

const fnSHA256 = repb.DigestFunction_SHA256

// putBlob stores b in s and returns its digest.
func putBlob(t *testing.T, s cas.BlobStore, b []byte) digest.Digest {
	t.Helper()
	d := digest.OfBytes(fnSHA256, b)
	if err := s.Put(context.Background(), d, bytes.NewReader(b)); err != nil {
		t.Fatalf("putting blob: %v", err)
	}
	return d
}

// blobDigest is the digest of b, without storing it.
func blobDigest(b string) digest.Digest { return digest.OfBytes(fnSHA256, []byte(b)) }

// marshal encodes m as the bytes a client would hash.
func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fileNode describes a file of a Directory.
func fileNode(name string, d digest.Digest) *repb.FileNode {
	return &repb.FileNode{Name: name, Digest: d.Proto()}
}

// actionKey returns a key for a made-up action named name.
func actionKey(instance, name string) Key {
	return Key{Instance: instance, Action: blobDigest("action " + name)}
}

// startServer serves srv on 127.0.0.1 and returns a client connected to it.
func startServer(t *testing.T, srv *Server) repb.ActionCacheClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	srv.Register(gs)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); gs.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		gs.Stop()
		wg.Wait()
	})
	return repb.NewActionCacheClient(conn)
}

// counterValue reads kiln_actioncache_requests_total{method,result} from reg.
func counterValue(t *testing.T, reg *prometheus.Registry, method, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "kiln_actioncache_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["method"] == method && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// countingBlobStore counts FindMissing calls and the digests asked about.
type countingBlobStore struct {
	cas.BlobStore
	mu      sync.Mutex
	calls   int
	asked   []digest.Digest
	findErr error
}

func (c *countingBlobStore) FindMissing(ctx context.Context, ds []digest.Digest) ([]digest.Digest, error) {
	c.mu.Lock()
	c.calls++
	c.asked = append(c.asked, ds...)
	err := c.findErr
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return c.BlobStore.FindMissing(ctx, ds)
}
