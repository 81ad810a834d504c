package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
	"github.com/kilnbuild/kiln/internal/gcstest"
	"github.com/kilnbuild/kiln/internal/redistest"
)

// freeLoopbackPort returns a port that was free a moment ago: the shard
// list must name every node before any of them starts.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// countDiskBlobs counts the blob files of a disk CAS directory.
func countDiskBlobs(t *testing.T, casDir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(casDir, "blobs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestServeShardedCASOnGCSWithDiskTiersAndRedisActionCache runs the
// storage of a farm in this process: three `kiln serve --roles=cas,
// actioncache` nodes, each a shard of the CAS with a disk tier in front of
// one GCS bucket (an emulator reached over HTTP), and one Redis action
// cache. A client talks to whichever node; every blob must end up durable
// in the bucket and cached on exactly its owner's disk.
func TestServeShardedCASOnGCSWithDiskTiersAndRedisActionCache(t *testing.T) {
	gcs := gcstest.Start(t)
	gcs.CreateBucket(t, "kiln-farm")
	rdb := redistest.Start(t)

	const n = 3
	addrs := make([]string, n)
	var shards []string
	for i := range addrs {
		addrs[i] = fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t))
		shards = append(shards, fmt.Sprintf("%q", "grpc://"+addrs[i]))
	}
	dataDirs := make([]string, n)
	for i := range n {
		dataDirs[i] = t.TempDir()
		cfg := fmt.Sprintf(`
data_dir: %s
roles: [cas, actioncache]
server:
  listen: %s
  metrics_listen: ""
cas:
  backend: gcs
  gcs:
    bucket: kiln-farm
    prefix: farm
    endpoint: %s
  tier:
    backend: disk
    max_size: 256MiB
  shards: [%s]
  self: %s
action_cache:
  backend: redis
redis:
  address: %s
  prefix: "e2e:"
`, dataDirs[i], addrs[i], gcs.Endpoint(), strings.Join(shards, ", "), addrs[i], rdb.Addr())
		path := filepath.Join(t.TempDir(), "kiln.yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		startKiln(t, func(line string) bool { return strings.HasPrefix(line, "Data: ") }, "serve", "--config="+path)
	}
	nodes := make([]*cas.GRPCStore, n)
	for i := range nodes {
		nodes[i] = cas.NewGRPCStore(dial(t, addrs[i]), "")
	}

	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 7))
	blobs := map[digest.Digest][]byte{}
	for i := range 40 {
		size := 1 + rng.IntN(20<<10)
		if i < 2 {
			size = 3<<20 + rng.IntN(1000) // ByteStream, several chunks
		}
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		blobs[digest.OfBytes(repb.DigestFunction_SHA256, b)] = b
	}
	for d, b := range blobs {
		if err := nodes[0].Put(ctx, d, bytes.NewReader(b)); err != nil {
			t.Fatalf("Put through node 0: %v", err)
		}
	}

	var query, absent []digest.Digest
	for d := range blobs {
		query = append(query, d)
	}
	for i := range 5 {
		d := digest.OfBytes(repb.DigestFunction_SHA256, fmt.Appendf(nil, "never uploaded %d", i))
		absent = append(absent, d)
		query = append(query, d)
	}
	missing, err := nodes[1].FindMissing(ctx, query)
	if err != nil {
		t.Fatalf("FindMissing through node 1: %v", err)
	}
	if !slices.Equal(missing, absent) {
		t.Errorf("FindMissing through node 1 = %d digests, want exactly the %d never uploaded", len(missing), len(absent))
	}
	for d, b := range blobs {
		rc, err := nodes[2].Get(ctx, d, 0, 0)
		if err != nil {
			t.Fatalf("Get through node 2: %v", err)
		}
		var got bytes.Buffer
		_, err = got.ReadFrom(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got.Bytes(), b) {
			t.Fatalf("Get %s through node 2: %d bytes, %v; want the %d uploaded", d, got.Len(), err, len(b))
		}
	}

	if objs := gcs.ObjectNames(t, "kiln-farm", "farm/sha256/"); len(objs) != len(blobs) {
		t.Errorf("the bucket holds %d blobs, want all %d uploaded", len(objs), len(blobs))
	}
	total, used := 0, 0
	for i, dir := range dataDirs {
		c := countDiskBlobs(t, filepath.Join(dir, "cas"))
		t.Logf("node %d caches %d blobs on disk", i, c)
		total += c
		if c > 0 {
			used++
		}
	}
	if total != len(blobs) || used < 2 {
		t.Errorf("the disk tiers hold %d blobs on %d nodes; want each of the %d blobs on its owner only, spread over the nodes",
			total, used, len(blobs))
	}

	// The action cache is shared: written through one node, read through
	// another.
	var out digest.Digest
	for d := range blobs {
		out = d
		break
	}
	action := digest.OfBytes(repb.DigestFunction_SHA256, []byte("an action"))
	result := &repb.ActionResult{OutputFiles: []*repb.OutputFile{{Path: "out", Digest: out.Proto()}}}
	if _, err := repb.NewActionCacheClient(dial(t, addrs[0])).UpdateActionResult(ctx, &repb.UpdateActionResultRequest{
		ActionDigest: action.Proto(), ActionResult: result,
	}); err != nil {
		t.Fatalf("UpdateActionResult through node 0: %v", err)
	}
	got, err := repb.NewActionCacheClient(dial(t, addrs[2])).GetActionResult(ctx, &repb.GetActionResultRequest{ActionDigest: action.Proto()})
	if err != nil || !proto.Equal(got, result) {
		t.Errorf("GetActionResult through node 2 = %v, %v; want %v", got, err, result)
	}
	if keys := rdb.Client(t).Keys(ctx, "e2e:ac:*").Val(); len(keys) != 1 {
		t.Errorf("Redis holds action cache keys %q, want the one entry", keys)
	}
}

func TestServeRefusesAnUnreachableBucketNamingIt(t *testing.T) {
	gcs := gcstest.Start(t) // no bucket created
	path := filepath.Join(t.TempDir(), "kiln.yaml")
	cfg := fmt.Sprintf("data_dir: %s\nroles: [cas]\nserver: {listen: 127.0.0.1:0, metrics_listen: \"\"}\ncas:\n  backend: gcs\n  gcs: {bucket: no-such-bucket, endpoint: %s}\n",
		t.TempDir(), gcs.Endpoint())
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCapture("serve", "--config="+path)
	if err == nil || !strings.Contains(err.Error(), "cas.gcs.bucket") || !strings.Contains(err.Error(), "no-such-bucket") {
		t.Errorf("serve on a missing bucket = %v, want an error naming cas.gcs.bucket and the bucket", err)
	}
}

func TestServeRefusesAnUnreachableRedisNamingIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kiln.yaml")
	cfg := fmt.Sprintf("data_dir: %s\nroles: [cas, actioncache]\nserver: {listen: 127.0.0.1:0, metrics_listen: \"\"}\naction_cache: {backend: redis}\nredis: {address: 127.0.0.1:%d}\n",
		t.TempDir(), freeLoopbackPort(t))
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCapture("serve", "--config="+path)
	if err == nil || !strings.Contains(err.Error(), "redis.address") {
		t.Errorf("serve with Redis down = %v, want an error naming redis.address", err)
	}
}
