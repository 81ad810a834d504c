package bazeltest

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Process kinds as Bazel 4.2.3 names them in its summary line, e.g.
// "INFO: 27 processes: 13 remote cache hit, 14 internal." Other kinds name
// a spawn strategy ("linux-sandbox", "local", "remote", "worker", ...).
const (
	KindRemoteCacheHit = "remote cache hit"
	KindDiskCacheHit   = "disk cache hit"
	KindInternal       = "internal" // Bazel's own bookkeeping, never cached
	KindRemote         = "remote"   // executed remotely
)

// Processes is Bazel's summary of the spawns of one command.
type Processes struct {
	// Total is the number in front of "processes". Bazel 4.2.3 computes it
	// apart from the per-kind counts, and for tests they can disagree
	// ("3 processes: 4 linux-sandbox."), so compare kinds, not Total.
	Total int
	// ByKind maps a kind (see the Kind constants) to its count.
	ByKind map[string]int
}

var processesLine = regexp.MustCompile(`(?m)^INFO: (\d+) process(?:es)?(?:: (.*?))?\.\s*$`)
var kindCount = regexp.MustCompile(`^(\d+) (.+)$`)

// ErrNoSummary is returned by ParseProcesses for output without a summary.
var ErrNoSummary = errors.New("no \"INFO: N processes\" line in Bazel's output")

// ParseProcesses reads the last "INFO: N processes: ..." line of output.
func ParseProcesses(output string) (Processes, error) {
	all := processesLine.FindAllStringSubmatch(output, -1)
	if len(all) == 0 {
		return Processes{}, ErrNoSummary
	}
	m := all[len(all)-1]
	total, err := strconv.Atoi(m[1])
	if err != nil {
		return Processes{}, fmt.Errorf("process total in %q: %w", m[0], err)
	}
	p := Processes{Total: total, ByKind: map[string]int{}}
	if m[2] == "" {
		return p, nil
	}
	for _, part := range strings.Split(m[2], ", ") {
		km := kindCount.FindStringSubmatch(part)
		if km == nil {
			return Processes{}, fmt.Errorf("cannot read %q in %q", part, m[0])
		}
		n, err := strconv.Atoi(km[1])
		if err != nil {
			return Processes{}, fmt.Errorf("count in %q: %w", part, err)
		}
		p.ByKind[km[2]] += n
	}
	return p, nil
}

// Count is the number of processes of kind.
func (p Processes) Count(kind string) int { return p.ByKind[kind] }

// RemoteCacheHits is the number of spawns served from the remote cache.
func (p Processes) RemoteCacheHits() int { return p.Count(KindRemoteCacheHit) }

// Internal is the number of Bazel's own spawns, which no cache serves.
func (p Processes) Internal() int { return p.Count(KindInternal) }

// Except sums the counts of every kind not listed. With
// Except(KindRemoteCacheHit, KindInternal) it is the number of spawns that
// ran (locally or remotely) or came from another cache.
func (p Processes) Except(kinds ...string) int {
	n := 0
outer:
	for kind, c := range p.ByKind {
		for _, k := range kinds {
			if kind == k {
				continue outer
			}
		}
		n += c
	}
	return n
}

// String prints p the way Bazel does, kinds sorted by name.
func (p Processes) String() string {
	kinds := make([]string, 0, len(p.ByKind))
	for k := range p.ByKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d processes", p.Total)
	for i, k := range kinds {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&sb, "%s%d %s", sep, p.ByKind[k], k)
	}
	return sb.String()
}
