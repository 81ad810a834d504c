package cgroup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeV2Dir makes a directory that looks like a cgroup v2 group: the
// control files the kernel would create, with the given contents.
func fakeV2Dir(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestV2EnablesControllersDownToParent(t *testing.T) {
	root := t.TempDir()
	fakeV2Dir(t, root, map[string]string{"cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n", "cgroup.subtree_control": "cpu\n"})
	kiln := filepath.Join(root, "kiln")
	fakeV2Dir(t, kiln, map[string]string{"cgroup.controllers": "cpu memory pids\n", "cgroup.subtree_control": ""})
	// The worker directory does not exist yet: ensureV2Parent creates
	// it, and would enable controllers in it; in a real hierarchy the
	// kernel creates its control files, here a missing file must stop it.
	err := ensureV2Parent(root, filepath.Join(kiln, "w1"))
	if got := readFile(t, filepath.Join(root, "cgroup.subtree_control")); got != "+memory +pids" {
		t.Errorf("root subtree_control written %q, want the missing controllers only", got)
	}
	if got := readFile(t, filepath.Join(kiln, "cgroup.subtree_control")); got != "+cpu +memory +pids" {
		t.Errorf("kiln subtree_control written %q", got)
	}
	if err == nil || !strings.Contains(err.Error(), "cgroup.controllers") {
		t.Errorf("a directory without control files was taken for a cgroup: %v", err)
	}
	if _, err := os.Stat(filepath.Join(kiln, "w1")); err != nil {
		t.Errorf("parent not created: %v", err)
	}
}

func TestV2ApplyWritesLimits(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "action")
	fakeV2Dir(t, dir, map[string]string{
		"memory.max": "max\n", "memory.swap.max": "max\n", "memory.oom.group": "0\n",
		"cpu.max": "max 100000\n", "pids.max": "max\n",
	})
	g := &v2Group{dir: dir, fd: -1}
	if err := g.apply(Limits{MemoryBytes: 64 << 20, CPUMillis: 1500, Pids: 128}); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"memory.max": "67108864", "memory.swap.max": "0", "memory.oom.group": "1",
		"cpu.max": "150000 100000", "pids.max": "128",
	} {
		if got := readFile(t, filepath.Join(dir, file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
}

func TestV2ApplyNamesMissingController(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "action")
	fakeV2Dir(t, dir, map[string]string{"cpu.max": "max 100000\n"})
	err := (&v2Group{dir: dir, fd: -1}).apply(Limits{MemoryBytes: 64 << 20})
	if err == nil || !strings.Contains(err.Error(), "memory controller is not enabled") {
		t.Fatalf("got %v, want an error naming the memory controller", err)
	}
	// Without limits, no controller is needed.
	if err := (&v2Group{dir: dir, fd: -1}).apply(Limits{}); err != nil {
		t.Fatal(err)
	}
}

func TestV2ReadsEventsAndUsage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "action")
	fakeV2Dir(t, dir, map[string]string{
		"memory.events":  "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 1\n",
		"memory.peak":    "1048576\n",
		"cpu.stat":       "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 0\n",
		"cgroup.events":  "populated 1\nfrozen 0\n",
		"cgroup.kill":    "",
		"cgroup.procs":   "",
		"cgroup.freeze":  "0\n",
		"memory.current": "4096\n",
	})
	g := &v2Group{dir: dir, fd: -1}
	oom, err := g.oomKilled()
	if err != nil || !oom {
		t.Errorf("oomKilled = %v, %v; want true", oom, err)
	}
	u, err := g.usage()
	if err != nil {
		t.Fatal(err)
	}
	if want := (Usage{PeakMemoryBytes: 1 << 20, CPU: 2500 * time.Millisecond, UserCPU: 2 * time.Second, SystemCPU: 500 * time.Millisecond}); u != want {
		t.Errorf("usage %+v, want %+v", u, want)
	}
	if empty, err := g.empty(); err != nil || empty {
		t.Errorf("empty = %v, %v with populated 1", empty, err)
	}
	if err := g.kill(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "cgroup.kill")); got != "1" {
		t.Errorf("cgroup.kill = %q, want 1", got)
	}

	os.WriteFile(filepath.Join(dir, "memory.events"), []byte("low 0\nhigh 0\nmax 3\noom 0\noom_kill 0\n"), 0o644)
	os.Remove(filepath.Join(dir, "memory.peak"))
	if oom, err := g.oomKilled(); err != nil || oom {
		t.Errorf("oomKilled = %v, %v with oom_kill 0", oom, err)
	}
	if u, err := g.usage(); err != nil || u.PeakMemoryBytes != 0 || u.CPU == 0 {
		t.Errorf("usage without memory.peak = %+v, %v", u, err)
	}
}

func TestV2KillFallsBackToFreezer(t *testing.T) {
	// Before Linux 5.14 there is no cgroup.kill.
	dir := filepath.Join(t.TempDir(), "action")
	fakeV2Dir(t, dir, map[string]string{"cgroup.freeze": "0\n", "cgroup.events": "populated 0\nfrozen 1\n", "cgroup.procs": ""})
	if err := (&v2Group{dir: dir, fd: -1}).kill(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "cgroup.freeze")); got != "0" {
		t.Errorf("left cgroup.freeze = %q, want thawed", got)
	}
}
