// Package hashring owns the placement of keys on a fixed set of members:
// consistent hashing with bounded loads (Mirrokni, Thorup and
// Zadimoghaddam, "Consistent Hashing with Bounded Loads", SODA 2018).
// It knows nothing of blobs or networks; cas.ShardedStore uses it to pick
// the CAS node that owns a digest.
//
// The algorithm bounds each member's load to (1+ε) times the average: a
// ball goes to the first member clockwise from its hash on the ring that
// still has room. In the paper the balls are requests and the loads change
// all the time. Content placement cannot work that way: where a blob is
// stored must not depend on which requests happen to be in flight, or a
// read would look on another node than the write. So the balls here are a
// fixed number of partitions of the key space, placed once, in partition
// order, when the ring is built. The result depends only on the member
// set, every node computes the same table, and the bound still holds for
// what matters for storage: no member owns more than LoadFactor times its
// share of the key space, however unlucky its points on the ring. Changing
// the member set moves only a bounded fraction of the partitions, as in
// plain consistent hashing plus the few that overflow.
package hashring

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
)

// Defaults of Options.
const (
	DefaultPartitions   = 4096
	DefaultLoadFactor   = 1.1
	DefaultVirtualNodes = 160
)

// Options tune a Ring; zero fields take the defaults. Every node of a
// cluster must use the same options, or they disagree about owners.
type Options struct {
	// Partitions is the number of slices of the key space that are
	// placed; more means finer balance and a bigger table.
	Partitions int
	// LoadFactor is 1+ε: no member owns more than this times the
	// average number of partitions. It must be above 1.
	LoadFactor float64
	// VirtualNodes is how many points each member has on the ring.
	VirtualNodes int
}

// Ring maps keys to members. It is immutable and safe for concurrent use.
type Ring struct {
	members []string
	owners  []int32 // partition → index into members
}

// New places the partitions on members. Member names must be unique and
// non-empty; their order does not matter.
func New(members []string, opts Options) (*Ring, error) {
	if opts.Partitions == 0 {
		opts.Partitions = DefaultPartitions
	}
	if opts.LoadFactor == 0 {
		opts.LoadFactor = DefaultLoadFactor
	}
	if opts.VirtualNodes == 0 {
		opts.VirtualNodes = DefaultVirtualNodes
	}
	switch {
	case len(members) == 0:
		return nil, errors.New("hashring: no members")
	case opts.Partitions < 1:
		return nil, fmt.Errorf("hashring: %d partitions", opts.Partitions)
	case !(opts.LoadFactor > 1):
		return nil, fmt.Errorf("hashring: load factor %v must be above 1", opts.LoadFactor)
	case opts.VirtualNodes < 1:
		return nil, fmt.Errorf("hashring: %d virtual nodes", opts.VirtualNodes)
	}
	sorted := slices.Clone(members)
	slices.Sort(sorted)
	for i, m := range sorted {
		if m == "" {
			return nil, errors.New("hashring: a member has an empty name")
		}
		if i > 0 && sorted[i-1] == m {
			return nil, fmt.Errorf("hashring: member %q is listed twice", m)
		}
	}

	type point struct {
		at     uint64
		member int32
	}
	points := make([]point, 0, len(sorted)*opts.VirtualNodes)
	for i, m := range sorted {
		for v := range opts.VirtualNodes {
			points = append(points, point{hash64(m + "#" + strconv.Itoa(v)), int32(i)})
		}
	}
	// Ties (vanishingly rare) are broken by member, so the order is the
	// same on every node.
	sort.Slice(points, func(a, b int) bool {
		if points[a].at != points[b].at {
			return points[a].at < points[b].at
		}
		return points[a].member < points[b].member
	})

	capacity := int(math.Ceil(float64(opts.Partitions) / float64(len(sorted)) * opts.LoadFactor))
	load := make([]int, len(sorted))
	owners := make([]int32, opts.Partitions)
	for p := range owners {
		h := hash64("partition#" + strconv.Itoa(p))
		i := sort.Search(len(points), func(i int) bool { return points[i].at >= h })
		// capacity × members ≥ partitions, so some member has room.
		for ; ; i++ {
			m := points[i%len(points)].member
			if load[m] < capacity {
				load[m]++
				owners[p] = m
				break
			}
		}
	}
	return &Ring{members: sorted, owners: owners}, nil
}

// Owner returns the member that owns key. Keys should be uniformly
// distributed (a cryptographic hash, say); see Partition.
func (r *Ring) Owner(key uint64) string { return r.members[r.owners[r.Partition(key)]] }

// Partition returns the partition key falls in.
func (r *Ring) Partition(key uint64) int { return int(key % uint64(len(r.owners))) }

// Members returns the members, sorted.
func (r *Ring) Members() []string { return slices.Clone(r.members) }

// Loads returns how many partitions each member owns.
func (r *Ring) Loads() map[string]int {
	loads := make(map[string]int, len(r.members))
	for _, m := range r.members {
		loads[m] = 0
	}
	for _, o := range r.owners {
		loads[r.members[o]]++
	}
	return loads
}

// hash64 places a name on the ring. It must never change: nodes of
// different versions would disagree about owners.
func hash64(s string) uint64 {
	sum := sha256.Sum256([]byte(s))
	return binary.BigEndian.Uint64(sum[:8])
}
