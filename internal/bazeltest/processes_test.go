package bazeltest

import (
	"errors"
	"testing"
)

func TestParseProcesses(t *testing.T) {
	for _, tc := range []struct {
		name, output string
		want         map[string]int
		total        int
	}{
		{
			name:   "local build",
			output: "INFO: Elapsed time: 4.648s, Critical Path: 0.31s\nINFO: 27 processes: 14 internal, 13 linux-sandbox.\nINFO: Build completed successfully, 27 total actions\n",
			total:  27,
			want:   map[string]int{"internal": 14, "linux-sandbox": 13},
		},
		{
			name:   "remote cache hits",
			output: "INFO: 27 processes: 13 remote cache hit, 14 internal.\n",
			total:  27,
			want:   map[string]int{KindRemoteCacheHit: 13, KindInternal: 14},
		},
		{
			name:   "one process",
			output: "INFO: 1 process: 1 internal.\n",
			total:  1,
			want:   map[string]int{KindInternal: 1},
		},
		{
			name:   "nothing to do",
			output: "INFO: 0 processes.\n",
			want:   map[string]int{},
		},
		{
			name:   "last line wins",
			output: "INFO: 2 processes: 2 local.\nINFO: 3 processes: 1 internal, 2 remote cache hit.\n",
			total:  3,
			want:   map[string]int{KindInternal: 1, KindRemoteCacheHit: 2},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseProcesses(tc.output)
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != tc.total {
				t.Errorf("Total = %d, want %d", p.Total, tc.total)
			}
			if len(p.ByKind) != len(tc.want) {
				t.Errorf("ByKind = %v, want %v", p.ByKind, tc.want)
			}
			for k, n := range tc.want {
				if p.Count(k) != n {
					t.Errorf("Count(%q) = %d, want %d (all: %v)", k, p.Count(k), n, p.ByKind)
				}
			}
		})
	}
}

func TestParseProcessesWithoutSummary(t *testing.T) {
	_, err := ParseProcesses("ERROR: Skipping '//nope': no such package\n")
	if !errors.Is(err, ErrNoSummary) {
		t.Fatalf("err = %v, want ErrNoSummary", err)
	}
}

func TestProcessesExcept(t *testing.T) {
	p := Processes{ByKind: map[string]int{KindRemoteCacheHit: 5, KindInternal: 3, "linux-sandbox": 2, KindDiskCacheHit: 1}}
	if got := p.Except(KindRemoteCacheHit, KindInternal); got != 3 {
		t.Errorf("Except(hit, internal) = %d, want 3", got)
	}
	if got := p.Except(); got != 11 {
		t.Errorf("Except() = %d, want 11", got)
	}
	if p.RemoteCacheHits() != 5 || p.Internal() != 3 {
		t.Errorf("RemoteCacheHits, Internal = %d, %d; want 5, 3", p.RemoteCacheHits(), p.Internal())
	}
}
