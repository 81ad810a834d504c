package cgroup

import (
	"errors"
	"strings"
	"testing"
)

func TestLimitsFromPlatform(t *testing.T) {
	defaults := Limits{MemoryBytes: 1 << 30, CPUMillis: 1000, Pids: 0}
	max := Limits{MemoryBytes: 4 << 30, CPUMillis: 4000, Pids: 4096}
	for _, tc := range []struct {
		name     string
		platform map[string][]string
		want     Limits
	}{
		{"none asked: defaults, unlimited pids capped at max", nil, Limits{1 << 30, 1000, 4096}},
		{"memory with unit", map[string][]string{"memory": {"512MiB"}}, Limits{512 << 20, 1000, 4096}},
		{"memory in bytes", map[string][]string{"memory": {"2097152"}}, Limits{2 << 20, 1000, 4096}},
		{"memory decimal unit", map[string][]string{"memory": {"500MB"}}, Limits{500e6, 1000, 4096}},
		{"fractional cores", map[string][]string{"cpu": {"0.5"}}, Limits{1 << 30, 500, 4096}},
		{"millicores", map[string][]string{"cpu": {"250m"}}, Limits{1 << 30, 250, 4096}},
		{"whole cores up to max", map[string][]string{"cpu": {"4"}}, Limits{1 << 30, 4000, 4096}},
		{"pids", map[string][]string{"pids": {"64"}}, Limits{1 << 30, 1000, 64}},
		{"other properties ignored", map[string][]string{"OSFamily": {"linux"}, "isolation": {"sandbox"}}, Limits{1 << 30, 1000, 4096}},
		{"all at max", map[string][]string{"memory": {"4GiB"}, "cpu": {"4000m"}, "pids": {"4096"}}, max},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LimitsFromPlatform(tc.platform, defaults, max)
			if err != nil {
				t.Fatalf("LimitsFromPlatform: %v", err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestLimitsFromPlatformUnboundedWorker(t *testing.T) {
	got, err := LimitsFromPlatform(map[string][]string{"memory": {"64GiB"}, "cpu": {"64"}}, Limits{}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Limits{MemoryBytes: 64 << 30, CPUMillis: 64000}); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// A default above the maximum is clamped to it.
	got, err = LimitsFromPlatform(nil, Limits{MemoryBytes: 8 << 30}, Limits{MemoryBytes: 2 << 30})
	if err != nil || got.MemoryBytes != 2<<30 {
		t.Fatalf("got %+v, %v; want memory clamped to 2GiB", got, err)
	}
}

func TestLimitsFromPlatformRejects(t *testing.T) {
	max := Limits{MemoryBytes: 1 << 30, CPUMillis: 2000, Pids: 100}
	for _, tc := range []struct {
		name     string
		platform map[string][]string
		wantMsg  []string
	}{
		{"memory over max", map[string][]string{"memory": {"2GiB"}}, []string{"memory=2GiB", "more than this worker allows", "1GiB"}},
		{"cpu over max", map[string][]string{"cpu": {"2.5"}}, []string{"cpu=2.5", "2 cores"}},
		{"pids over max", map[string][]string{"pids": {"101"}}, []string{"pids=101", "100"}},
		{"memory garbage", map[string][]string{"memory": {"lots"}}, []string{"memory=lots"}},
		{"memory unknown unit", map[string][]string{"memory": {"5 parsecs"}}, []string{"unknown unit"}},
		{"memory negative", map[string][]string{"memory": {"-1"}}, []string{"memory=-1"}},
		{"memory too small", map[string][]string{"memory": {"1KiB"}}, []string{"below the smallest"}},
		{"cpu garbage", map[string][]string{"cpu": {"fast"}}, []string{"cpu=fast", "cores"}},
		{"cpu NaN", map[string][]string{"cpu": {"NaN"}}, []string{"cpu=NaN"}},
		{"cpu zero", map[string][]string{"cpu": {"0"}}, []string{"below the smallest"}},
		{"cpu fractional millicores", map[string][]string{"cpu": {"1.5m"}}, []string{"whole number"}},
		{"pids zero", map[string][]string{"pids": {"0"}}, []string{"pids=0", "below the smallest"}},
		{"pids fraction", map[string][]string{"pids": {"1.5"}}, []string{"pids=1.5"}},
		{"repeated", map[string][]string{"memory": {"1MiB", "2MiB"}}, []string{"memory is given 2 times"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LimitsFromPlatform(tc.platform, Limits{}, max)
			if err == nil {
				t.Fatalf("got %+v, want an error", got)
			}
			if !errors.Is(err, ErrBadLimit) {
				t.Errorf("error %v does not wrap ErrBadLimit", err)
			}
			for _, m := range tc.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

func TestLimitsString(t *testing.T) {
	got := Limits{MemoryBytes: 512 << 20, CPUMillis: 1500}.String()
	if want := "memory=512MiB cpu=1.5 cores pids=unlimited"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
