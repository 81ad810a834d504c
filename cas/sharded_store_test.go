package cas_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/cas/blobstoretest"
	"github.com/kilnbuild/kiln/internal/digest"
)

// shardNode is one CAS node of an in-process cluster: its sharded store,
// served with the CAS and ByteStream services on a loopback port.
type shardNode struct {
	name    string
	local   cas.BlobStore
	sharded *cas.ShardedStore
	stop    func()
}

// shardCluster starts len(locals) nodes; node i stores what it owns in
// locals[i]. members lists the nodes' names as each node sees them: nil
// means all of them; members[i] may list others (a node that disagrees).
func shardCluster(t *testing.T, locals []cas.BlobStore, opts cas.ShardedStoreOptions, members func(i int, all []string) []string) []*shardNode {
	t.Helper()
	n := len(locals)
	lis := make([]net.Listener, n)
	names := make([]string, n)
	conns := map[string]*grpc.ClientConn{}
	for i := range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lis[i] = l
		names[i] = "grpc://" + l.Addr().String()
		conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conns[names[i]] = conn
	}
	nodes := make([]*shardNode, n)
	for i := range n {
		memberNames := names
		if members != nil {
			memberNames = members(i, names)
		}
		stores := map[string]cas.BlobStore{}
		for j, m := range memberNames {
			switch {
			case m == names[i]:
				stores[m] = locals[i]
			case conns[m] != nil:
				stores[m] = cas.NewGRPCStore(conns[m], "")
			default: // a name only this node believes in: it reaches node j%n
				stores[m] = cas.NewGRPCStore(conns[names[j%n]], "")
			}
		}
		sharded, err := cas.NewShardedStore(names[i], stores, opts)
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer()
		cas.NewCASServer(sharded, cas.CASServerOptions{}).Register(srv)
		bs := cas.NewByteStreamServer(sharded, cas.ByteStreamServerOptions{})
		bs.Register(srv)
		go srv.Serve(lis[i])
		stop := func() { srv.Stop(); bs.Close() }
		t.Cleanup(stop)
		nodes[i] = &shardNode{name: names[i], local: locals[i], sharded: sharded, stop: stop}
	}
	return nodes
}

func memoryLocals(n int) []cas.BlobStore {
	locals := make([]cas.BlobStore, n)
	for i := range locals {
		locals[i] = cas.NewMemoryStore()
	}
	return locals
}

func TestShardedStoreConformance(t *testing.T) {
	blobstoretest.Run(t, func(t *testing.T) cas.BlobStore {
		return shardCluster(t, memoryLocals(3), cas.ShardedStoreOptions{}, nil)[0].sharded
	})
}

// blobsFor returns count distinct blobs.
func blobsFor(prefix string, count int) map[digest.Digest][]byte {
	blobs := map[digest.Digest][]byte{}
	for i := range count {
		b := fmt.Appendf(nil, "%s %d", prefix, i)
		blobs[digest.OfBytes(repb.DigestFunction_SHA256, b)] = b
	}
	return blobs
}

func TestShardedStoreKeepsEachBlobOnItsOwnerOnly(t *testing.T) {
	nodes := shardCluster(t, memoryLocals(3), cas.ShardedStoreOptions{}, nil)
	ctx := context.Background()
	blobs := blobsFor("placed", 60)
	i := 0
	for d, b := range blobs { // written through every node in turn
		if err := nodes[i%3].sharded.Put(ctx, d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		i++
	}
	perNode := map[string]int{}
	for d, b := range blobs {
		owner := nodes[0].sharded.Owner(d)
		for _, n := range nodes {
			if got := n.sharded.Owner(d); got != owner {
				t.Fatalf("nodes disagree about the owner of %s: %s and %s", d, owner, got)
			}
			if in := has(t, n.local, d); in != (n.name == owner) {
				t.Errorf("%s in the local store of %s: %v; owner is %s", d, n.name, in, owner)
			}
			if got := readRange(t, n.sharded, d, 0, 0); !bytes.Equal(got, b) {
				t.Errorf("%s read through %s: other bytes", d, n.name)
			}
		}
		perNode[owner]++
	}
	if len(perNode) != 3 {
		t.Errorf("60 blobs went to %d nodes (%v), want all 3 used", len(perNode), perNode)
	}
}

func TestShardedStoreFindMissingAsksEachOwner(t *testing.T) {
	nodes := shardCluster(t, memoryLocals(3), cas.ShardedStoreOptions{}, nil)
	ctx := context.Background()
	var query, want []digest.Digest
	i := 0
	for d, b := range blobsFor("find", 30) {
		query = append(query, d)
		if i%2 == 0 {
			if err := nodes[1].sharded.Put(ctx, d, bytes.NewReader(b)); err != nil {
				t.Fatal(err)
			}
		} else {
			want = append(want, d)
		}
		i++
	}
	for _, n := range nodes {
		got, err := n.sharded.FindMissing(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("FindMissing through %s = %d digests, want the %d absent ones in query order", n.name, len(got), len(want))
		}
	}
}

// Nodes that disagree about the members (a rolling change of cas.shards)
// must not bounce requests between them: a forwarded call is served where
// it arrives.
func TestShardedStoreForwardsAtMostOneHop(t *testing.T) {
	// Node 1 believes in a third node that does not exist, whose name
	// leads back to node 0.
	nodes := shardCluster(t, memoryLocals(2), cas.ShardedStoreOptions{}, func(i int, all []string) []string {
		if i == 1 {
			return append(slices.Clone(all), "grpc://ghost:1")
		}
		return all
	})
	// A digest node 0 sends to node 1, but node 1 thinks is the ghost's.
	var d digest.Digest
	var b []byte
	for cand, content := range blobsFor("bounce", 1000) {
		if nodes[0].sharded.Owner(cand) == nodes[1].name && nodes[1].sharded.Owner(cand) == "grpc://ghost:1" {
			d, b = cand, content
			break
		}
	}
	if b == nil {
		t.Fatal("no digest that the two nodes place differently")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a bounce would loop until then
	defer cancel()
	if err := nodes[0].sharded.Put(ctx, d, bytes.NewReader(b)); err != nil {
		t.Fatalf("Put through node 0: %v", err)
	}
	if !has(t, nodes[1].local, d) || has(t, nodes[0].local, d) {
		t.Errorf("the blob is in node 0's store: %v, node 1's: %v; want it where node 0 sent it, node 1",
			has(t, nodes[0].local, d), has(t, nodes[1].local, d))
	}
	if got := readRange(t, nodes[0].sharded, d, 0, 0); !bytes.Equal(got, b) {
		t.Error("reading it back through node 0 returned other bytes")
	}
}

func TestShardedStoreFallsBackToSelfOnlyWhenAsked(t *testing.T) {
	// All nodes' local stores share one store, as disk tiers over one
	// bucket do.
	shared := cas.NewMemoryStore()
	locals := []cas.BlobStore{shared, shared, shared}
	for _, fallback := range []bool{false, true} {
		t.Run(fmt.Sprintf("fallback=%v", fallback), func(t *testing.T) {
			nodes := shardCluster(t, locals, cas.ShardedStoreOptions{FallbackToSelf: fallback}, nil)
			nodes[2].stop()
			ctx := context.Background()
			var d digest.Digest
			var b []byte
			for cand, content := range blobsFor(fmt.Sprint("down ", fallback), 100) {
				if nodes[0].sharded.Owner(cand) == nodes[2].name {
					d, b = cand, content
					break
				}
			}
			err := nodes[0].sharded.Put(ctx, d, bytes.NewReader(b))
			if !fallback {
				if status.Code(err) != codes.Unavailable {
					t.Fatalf("Put for a node that is down = %v, want UNAVAILABLE", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Put for a node that is down, with fallback: %v", err)
			}
			if missing, err := nodes[1].sharded.FindMissing(ctx, []digest.Digest{d}); err != nil || len(missing) != 0 {
				t.Errorf("FindMissing through another node = %v, %v; want present", missing, err)
			}
			if got := readRange(t, nodes[1].sharded, d, 0, 0); !bytes.Equal(got, b) {
				t.Error("Get through another node returned other bytes")
			}
		})
	}
}

func TestNewShardedStoreRejectsAClusterWithoutItself(t *testing.T) {
	_, err := cas.NewShardedStore("grpc://me:1", map[string]cas.BlobStore{"grpc://other:1": cas.NewMemoryStore()}, cas.ShardedStoreOptions{})
	if err == nil {
		t.Fatal("NewShardedStore accepted a node list without the node itself")
	}
}
