package cas

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"strconv"
	"sync"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/internal/digest"
	"github.com/kilnbuild/kiln/internal/hashring"
)

// ForwardedByHeader is the gRPC metadata key a ShardedStore sets on the
// calls it forwards to the owner of a digest, with its own name as value.
// A node that receives a call carrying it serves it from its local store,
// whoever the owner is: forwarding is at most one hop even when nodes
// disagree about the member list during a rolling change, so requests can
// never bounce between nodes. (A client that sets it only makes a node
// serve from its local store, as if it owned the digest.)
const ForwardedByHeader = "kiln-cas-forwarded-by"

// ShardedStoreOptions configure a ShardedStore; the zero value is usable.
type ShardedStoreOptions struct {
	// Ring tunes the placement; every node of a cluster must use the
	// same. The zero value takes hashring's defaults.
	Ring hashring.Options
	// FallbackToSelf serves a request from the local store when its
	// owner is unreachable (UNAVAILABLE). Set it only when every node's
	// local store reads and writes through to one shared store (a disk
	// tier over one GCS bucket): then any node can answer for any digest,
	// only slower, and a node that is down costs no failed builds.
	FallbackToSelf bool
	// Logger receives forwarding problems; nil means slog.Default().
	Logger *slog.Logger
}

// ShardedStore spreads blobs over CAS nodes by digest: consistent hashing
// with bounded loads (internal/hashring) picks each digest's owner from the
// member list, and every node, given the same list, picks the same one. A
// node serves what it owns from its local store and forwards everything
// else to the owner (a GRPCStore to that node's CAS), so clients may send
// any request to any node. FindMissing is split per owner and asked in
// parallel.
type ShardedStore struct {
	self     string
	local    BlobStore
	nodes    map[string]BlobStore
	ring     *hashring.Ring
	fallback bool
	log      *slog.Logger

	warnOnce sync.Once
}

var _ BlobStore = (*ShardedStore)(nil)

// NewShardedStore returns the store of node self. nodes maps every member's
// name (its grpc:// address, as all nodes list it) to the store that
// reaches it; nodes[self] is this node's local store.
func NewShardedStore(self string, nodes map[string]BlobStore, opts ShardedStoreOptions) (*ShardedStore, error) {
	local, ok := nodes[self]
	if !ok {
		return nil, fmt.Errorf("sharded CAS: this node, %q, is not among the %d nodes", self, len(nodes))
	}
	names := make([]string, 0, len(nodes))
	for name, s := range nodes {
		if s == nil {
			return nil, fmt.Errorf("sharded CAS: node %q has no store", name)
		}
		names = append(names, name)
	}
	ring, err := hashring.New(names, opts.Ring)
	if err != nil {
		return nil, fmt.Errorf("sharded CAS: %w", err)
	}
	s := &ShardedStore{self: self, local: local, nodes: nodes, ring: ring, fallback: opts.FallbackToSelf, log: opts.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s, nil
}

// Owner returns the name of the node that owns d.
func (s *ShardedStore) Owner(d digest.Digest) string { return s.ring.Owner(shardKey(d)) }

// shardKey spreads digests over the ring: the leading 64 bits of the hash,
// which a cryptographic hash makes uniform. The function is not mixed in;
// one content under two functions is two unrelated blobs anyway.
func shardKey(d digest.Digest) uint64 {
	if len(d.Hash) >= 16 {
		if k, err := strconv.ParseUint(d.Hash[:16], 16, 64); err == nil {
			return k
		}
	}
	h := fnv.New64a() // only unvalidated digests get here
	h.Write([]byte(d.Hash))
	return h.Sum64()
}

// route returns the owner of d as this call sees it (itself for a
// forwarded call), the store that serves it, and how to call that store.
func (s *ShardedStore) route(ctx context.Context, d digest.Digest) (owner string, store BlobStore, call func(context.Context) context.Context) {
	if by := forwardedBy(ctx); by != "" {
		if owner := s.Owner(d); owner != s.self {
			s.warnOnce.Do(func() {
				s.log.Warn("sharded CAS: a node forwarded a digest that this node does not own; do all nodes list the same cas.shards?",
					"from", by, "digest", d, "owner_here", owner)
			})
		}
		return s.self, s.local, asIs
	}
	owner = s.Owner(d)
	if owner == s.self {
		return owner, s.local, asIs
	}
	return owner, s.nodes[owner], s.markForwarded
}

func asIs(ctx context.Context) context.Context { return ctx }

func (s *ShardedStore) markForwarded(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, ForwardedByHeader, s.self)
}

// forwardedBy returns the node that forwarded the call ctx belongs to, or "".
func forwardedBy(ctx context.Context) string {
	if v := metadata.ValueFromIncomingContext(ctx, ForwardedByHeader); len(v) > 0 {
		return v[0]
	}
	return ""
}

// shouldFallBack reports whether a failed forward is served locally.
func (s *ShardedStore) shouldFallBack(owner string, err error) bool {
	if !s.fallback || owner == s.self || status.Code(err) != codes.Unavailable {
		return false
	}
	s.log.Warn("sharded CAS: the owner is unreachable; serving from this node", "owner", owner, "err", err)
	return true
}

// Get implements BlobStore.
func (s *ShardedStore) Get(ctx context.Context, d digest.Digest, offset, limit int64) (io.ReadCloser, error) {
	owner, store, call := s.route(ctx, d)
	rc, err := store.Get(call(ctx), d, offset, limit)
	if err != nil && s.shouldFallBack(owner, err) {
		return s.local.Get(ctx, d, offset, limit)
	}
	return rc, err
}

// Put implements BlobStore. A fallback after a failed forward needs the
// bytes the forward consumed again: with FallbackToSelf, Put keeps up to
// shardReplayBytes of them (a small blob's batch, or nothing for a stream
// that failed to open), and falls back only if it still has them all.
func (s *ShardedStore) Put(ctx context.Context, d digest.Digest, r io.Reader) error {
	owner, store, call := s.route(ctx, d)
	if owner == s.self || !s.fallback {
		return store.Put(call(ctx), d, r)
	}
	rec := &replayReader{r: r}
	err := store.Put(call(ctx), d, rec)
	if err != nil && !rec.overflowed && s.shouldFallBack(owner, err) {
		return s.local.Put(ctx, d, io.MultiReader(bytes.NewReader(rec.seen), r))
	}
	return err
}

// shardReplayBytes bounds what Put keeps for a fallback: above what
// GRPCStore reads before it first talks to the owner.
const shardReplayBytes = 1 << 20

// replayReader keeps what it has read, up to shardReplayBytes.
type replayReader struct {
	r          io.Reader
	seen       []byte
	overflowed bool
}

func (c *replayReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if !c.overflowed {
		if len(c.seen)+n > shardReplayBytes {
			c.overflowed, c.seen = true, nil
		} else {
			c.seen = append(c.seen, p[:n]...)
		}
	}
	return n, err
}

// FindMissing implements BlobStore: one FindMissing per owner, in parallel.
func (s *ShardedStore) FindMissing(ctx context.Context, ds []digest.Digest) ([]digest.Digest, error) {
	type group struct {
		store BlobStore
		call  func(context.Context) context.Context
		ds    []digest.Digest
	}
	groups := make(map[string]*group)
	var order []string
	for _, d := range ds {
		if d.IsEmpty() {
			continue
		}
		owner, store, call := s.route(ctx, d)
		g, ok := groups[owner]
		if !ok {
			g = &group{store: store, call: call}
			groups[owner] = g
			order = append(order, owner)
		}
		g.ds = append(g.ds, d)
	}
	results := make([][]digest.Digest, len(order))
	eg, egCtx := errgroup.WithContext(ctx)
	for i, owner := range order {
		g := groups[owner]
		eg.Go(func() error {
			missing, err := g.store.FindMissing(g.call(egCtx), g.ds)
			if err != nil && s.shouldFallBack(owner, err) {
				missing, err = s.local.FindMissing(egCtx, g.ds)
			}
			if err != nil {
				return fmt.Errorf("sharded CAS: FindMissing on %s: %w", owner, err)
			}
			results[i] = missing
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	absent := make(map[digest.Digest]bool)
	for _, r := range results {
		for _, d := range r {
			absent[d] = true
		}
	}
	var missing []digest.Digest
	for _, d := range ds {
		if absent[d] {
			missing = append(missing, d)
		}
	}
	return missing, nil
}
