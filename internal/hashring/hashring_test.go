package hashring

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func members(n int) []string {
	m := make([]string, n)
	for i := range m {
		m[i] = fmt.Sprintf("grpc://cas-%d:8980", i)
	}
	return m
}

func mustNew(t *testing.T, ms []string, opts Options) *Ring {
	t.Helper()
	r, err := New(ms, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sameOwners counts the partitions that a and b give the same owner.
func sameOwners(a, b *Ring) int {
	n := 0
	for p := range a.owners {
		if a.members[a.owners[p]] == b.members[b.owners[p]] {
			n++
		}
	}
	return n
}

func TestOwnersDependOnlyOnTheMemberSet(t *testing.T) {
	ms := members(5)
	a := mustNew(t, ms, Options{})
	reversed := []string{ms[4], ms[3], ms[2], ms[1], ms[0]}
	b := mustNew(t, reversed, Options{})
	if same := sameOwners(a, b); same != DefaultPartitions {
		t.Errorf("member order changed the owner of %d partitions", DefaultPartitions-same)
	}
	for _, key := range []uint64{0, 1, math.MaxUint64, 0xdeadbeef} {
		if a.Owner(key) != b.Owner(key) {
			t.Errorf("Owner(%#x) differs with the member order", key)
		}
	}
}

func TestNoMemberExceedsTheLoadBound(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 16} {
		for _, lf := range []float64{1.05, 1.25, 2} {
			r := mustNew(t, members(n), Options{LoadFactor: lf, VirtualNodes: 3})
			bound := int(math.Ceil(float64(DefaultPartitions) / float64(n) * lf))
			total := 0
			for m, load := range r.Loads() {
				total += load
				if load > bound {
					t.Errorf("%d members, load factor %v: %s owns %d partitions, bound %d", n, lf, m, load, bound)
				}
				if load == 0 {
					t.Errorf("%d members, load factor %v: %s owns nothing", n, lf, m)
				}
			}
			if total != DefaultPartitions {
				t.Errorf("%d members: %d of %d partitions placed", n, total, DefaultPartitions)
			}
		}
	}
}

// With few virtual nodes plain consistent hashing is badly skewed; the
// bound is what keeps one member from owning most keys.
func TestTheBoundMattersWithFewVirtualNodes(t *testing.T) {
	ms := members(4)
	unbounded := mustNew(t, ms, Options{LoadFactor: 100, VirtualNodes: 1})
	bounded := mustNew(t, ms, Options{LoadFactor: 1.1, VirtualNodes: 1})
	maxLoad := func(r *Ring) int {
		m := 0
		for _, l := range r.Loads() {
			m = max(m, l)
		}
		return m
	}
	limit := int(math.Ceil(DefaultPartitions / 4 * 1.1))
	if maxLoad(unbounded) <= limit {
		t.Skipf("these points happen to be balanced (max %d); the test proves nothing", maxLoad(unbounded))
	}
	if got := maxLoad(bounded); got > limit {
		t.Errorf("bounded ring's largest load = %d, want at most %d", got, limit)
	}
}

func TestMembershipChangesMoveFewPartitions(t *testing.T) {
	three := mustNew(t, members(3), Options{})
	four := mustNew(t, members(4), Options{})
	// Ideally a quarter moves (to the new member); the bound adds a
	// little.
	moved := DefaultPartitions - sameOwners(three, four)
	if moved > DefaultPartitions*35/100 {
		t.Errorf("adding a 4th member moved %d of %d partitions", moved, DefaultPartitions)
	}
	// A member leaving: what the others owned mostly stays.
	two := mustNew(t, members(3)[:2], Options{})
	kept := 0
	owned := 0
	for p := range three.owners {
		if o := three.members[three.owners[p]]; o != members(3)[2] {
			owned++
			if two.members[two.owners[p]] == o {
				kept++
			}
		}
	}
	if kept < owned*85/100 {
		t.Errorf("after a member left, the others kept %d of their %d partitions", kept, owned)
	}
}

func TestNewRejectsBadMembersAndOptions(t *testing.T) {
	for _, tc := range []struct {
		members []string
		opts    Options
		want    string
	}{
		{nil, Options{}, "no members"},
		{[]string{"a", ""}, Options{}, "empty name"},
		{[]string{"a", "b", "a"}, Options{}, `"a" is listed twice`},
		{[]string{"a"}, Options{LoadFactor: 1}, "above 1"},
		{[]string{"a"}, Options{LoadFactor: math.NaN()}, "above 1"},
		{[]string{"a"}, Options{Partitions: -1}, "partitions"},
	} {
		if _, err := New(tc.members, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q, %+v) = %v, want an error with %q", tc.members, tc.opts, err, tc.want)
		}
	}
}

func BenchmarkOwner(b *testing.B) {
	r, err := New(members(16), Options{})
	if err != nil {
		b.Fatal(err)
	}
	var key uint64
	for b.Loop() {
		key += 0x9e3779b97f4a7c15
		_ = r.Owner(key)
	}
}
