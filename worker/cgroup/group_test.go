package cgroup

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// realLayout returns this host's layout, or skips the test when cgroups
// cannot be used here (unless KILN_REQUIRE_CGROUP=1).
func realLayout(t *testing.T) layout {
	t.Helper()
	lay, err := detect()
	if err == nil {
		err = lay.usable()
	}
	if err != nil {
		if os.Getenv("KILN_REQUIRE_CGROUP") == "1" {
			t.Fatalf("cgroups unusable (mode %v): %v", lay.mode, err)
		}
		t.Skipf("cgroups unusable here (mode %v): %v; KILN_REQUIRE_CGROUP=1 makes this fail", lay.mode, err)
	}
	return lay
}

// testParent is a parent unique to the test, removed after it.
func testParent(t *testing.T, lay layout) string {
	t.Helper()
	parent := fmt.Sprintf("kiln-test-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "_"))
	t.Cleanup(func() {
		if err := sweep(lay, parent); err != nil {
			t.Errorf("sweep: %v", err)
		}
		for _, dir := range parentDirs(lay, parent) {
			if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
				t.Errorf("removing test parent %s: %v", dir, err)
			}
		}
	})
	return parent
}

func newTestGroup(t *testing.T, lay layout, l Limits) *Group {
	t.Helper()
	g, err := newGroup(lay, testParent(t, lay), "action", l)
	if errors.Is(err, syscall.EBUSY) && os.Getenv("KILN_REQUIRE_CGROUP") != "1" {
		t.Skipf("cgroup v2 controllers cannot be delegated below this process's cgroup: %v", err)
	}
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = g.Destroy() })
	return g
}

// groupDirs lists the directories of g, whatever its layout.
func groupDirs(g *Group) []string {
	switch h := g.impl.(type) {
	case *v1Group:
		return h.uniqueDirs()
	case *v2Group:
		return []string{h.dir}
	}
	return nil
}

func assertGone(t *testing.T, g *Group, pids []int) {
	t.Helper()
	for _, dir := range groupDirs(g) {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still exists after Destroy (%v)", dir, err)
		}
	}
	for _, pid := range pids {
		// A killed child of ours may linger as a zombie until reaped;
		// anything else alive is a leak.
		if state := procState(pid); state != "" && state != "Z" {
			t.Errorf("process %d still alive (state %s)", pid, state)
		}
	}
}

func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2 : i+3]
	}
	return "?"
}

func helperCmd(mode string) *exec.Cmd {
	c := exec.Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), helperEnv+"="+mode)
	return c
}

func TestMemoryLimitOOMKills(t *testing.T) {
	lay := realLayout(t)
	g := newTestGroup(t, lay, Limits{MemoryBytes: 64 << 20})
	c := helperCmd("hog")
	var out strings.Builder
	c.Stdout, c.Stderr = &out, &out
	if err := g.Start(c); err != nil {
		t.Fatal(err)
	}
	err := c.Wait()
	ws, _ := c.ProcessState.Sys().(syscall.WaitStatus)
	if err == nil || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the hog was not killed by SIGKILL: %v; output %q", err, out.String())
	}
	oom, err := g.OOMKilled()
	if err != nil || !oom {
		t.Fatalf("OOMKilled = %v, %v; want true", oom, err)
	}
	u, err := g.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if u.PeakMemoryBytes > 64<<20 || (lay.mode != ModeV2 && u.PeakMemoryBytes < 32<<20) {
		t.Errorf("peak memory %d, want close to the 64MiB limit", u.PeakMemoryBytes)
	}
	if err := g.Destroy(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, g, nil)
}

func TestNoOOMWithinLimit(t *testing.T) {
	lay := realLayout(t)
	g := newTestGroup(t, lay, Limits{MemoryBytes: 256 << 20, CPUMillis: 500, Pids: 64})
	c := exec.Command("/bin/sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done")
	if err := g.Start(c); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	if oom, err := g.OOMKilled(); err != nil || oom {
		t.Fatalf("OOMKilled = %v, %v; want false", oom, err)
	}
	u, err := g.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if u.CPU <= 0 || u.PeakMemoryBytes <= 0 {
		t.Errorf("usage %+v: the shell's CPU time and memory were not counted", u)
	}
}

func TestLimitsAreWritten(t *testing.T) {
	lay := realLayout(t)
	g := newTestGroup(t, lay, Limits{MemoryBytes: 100 << 20, CPUMillis: 250, Pids: 42})
	h, ok := g.impl.(*v1Group)
	if !ok {
		t.Skip("v1 files only")
	}
	for _, f := range []struct {
		controller, file string
		want             int64
	}{
		{"memory", "memory.limit_in_bytes", 100 << 20},
		{"cpu", "cpu.cfs_quota_us", 25000},
		{"cpu", "cpu.cfs_period_us", 100000},
		{"pids", "pids.max", 42},
	} {
		got, err := readInt(h.dirs[f.controller], f.file)
		if err != nil || got != f.want {
			t.Errorf("%s = %d, %v; want %d", f.file, got, err, f.want)
		}
	}
}

func TestStartPutsOnlyTheChildInTheGroup(t *testing.T) {
	lay := realLayout(t)
	g := newTestGroup(t, lay, Limits{Pids: 16})
	c := exec.Command("/bin/sleep", "60")
	if err := g.Start(c); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Process.Kill(); _ = c.Wait() }()
	members, err := readPids(groupDirs(g)[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 1 || members[0] != c.Process.Pid {
		t.Fatalf("group holds %v, want only the child %d", members, c.Process.Pid)
	}
	// Start borrowed a thread of ours; it must be back home.
	for _, dir := range groupDirs(g) {
		tasks, err := os.ReadFile(filepath.Join(dir, "tasks"))
		if err != nil {
			continue // v2 has no tasks file in a domain cgroup
		}
		for _, f := range strings.Fields(string(tasks)) {
			tid, _ := strconv.Atoi(f)
			if _, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", tid)); err == nil {
				t.Errorf("thread %d of the test process is still in %s", tid, dir)
			}
		}
	}
}

func TestPidsLimitStopsForkBomb(t *testing.T) {
	lay := realLayout(t)
	const limit = 32
	g := newTestGroup(t, lay, Limits{Pids: limit})
	c := exec.Command("/bin/sh", "-c", `b(){ b | b & }; b; sleep 60`)
	if err := g.Start(c); err != nil {
		t.Fatal(err)
	}
	var seen []int
	var forkFailures int64
	deadline := time.Now().Add(30 * time.Second)
	for forkFailures == 0 && time.Now().Before(deadline) {
		pids, err := treePids(groupDirs(g)[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(pids) > limit {
			t.Fatalf("%d processes in the group, over the limit of %d", len(pids), limit)
		}
		seen = append(seen, pids...)
		forkFailures = pidsMaxEvents(t, g)
		time.Sleep(10 * time.Millisecond)
	}
	if forkFailures == 0 {
		t.Fatal("the fork bomb never hit the pids limit")
	}
	if err := g.Destroy(); err != nil {
		t.Fatal(err)
	}
	_ = c.Wait()
	assertGone(t, g, seen)
}

// pidsMaxEvents reads how often a fork failed on the pids limit.
func pidsMaxEvents(t *testing.T, g *Group) int64 {
	dir := groupDirs(g)[0]
	if h, ok := g.impl.(*v1Group); ok {
		dir = h.dirs["pids"]
	}
	ev, err := readKeyed(dir, "pids.events")
	if err != nil {
		t.Fatal(err)
	}
	return ev["max"]
}

func TestKillKillsEverythingAndDestroyLeavesNothing(t *testing.T) {
	lay := realLayout(t)
	g := newTestGroup(t, lay, Limits{Pids: 64})
	// A tree of processes, some in new sessions (outside the process
	// group) and one detached: none may survive.
	c := exec.Command("/bin/sh", "-c", `sleep 60 & setsid sleep 60 & (trap "" TERM HUP; sleep 60) & sh -c "sleep 60 & wait" & wait`)
	if err := g.Start(c); err != nil {
		t.Fatal(err)
	}
	var pids []int
	for deadline := time.Now().Add(10 * time.Second); len(pids) < 6 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		var err error
		if pids, err = treePids(groupDirs(g)[0]); err != nil {
			t.Fatal(err)
		}
	}
	if len(pids) < 6 {
		t.Fatalf("only %v started", pids)
	}
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = c.Wait()
	ws, _ := c.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("the top process ended with %v, not SIGKILL", c.ProcessState)
	}
	if err := g.Destroy(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, g, pids)
	// Destroying twice is harmless.
	if err := g.Destroy(); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
}

func TestSweepRemovesLeftovers(t *testing.T) {
	lay := realLayout(t)
	parent := testParent(t, lay)
	var pids []int
	var groups []*Group
	for i := range 3 {
		g, err := newGroup(lay, parent, fmt.Sprint("left-", i), Limits{Pids: 8})
		if err != nil {
			t.Fatal(err)
		}
		c := exec.Command("/bin/sleep", "60")
		if err := g.Start(c); err != nil {
			t.Fatal(err)
		}
		go c.Wait() //nolint:errcheck // reaped when Sweep kills it
		pids = append(pids, c.Process.Pid)
		groups = append(groups, g)
	}
	if err := sweep(lay, parent); err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		assertGone(t, g, pids)
	}
	for _, dir := range parentDirs(lay, parent) {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("Sweep removed the parent %s: %v", dir, err)
		}
	}
}

func TestNewRefusesExistingGroup(t *testing.T) {
	lay := realLayout(t)
	parent := testParent(t, lay)
	g, err := newGroup(lay, parent, "same", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Destroy()
	if g2, err := newGroup(lay, parent, "same", Limits{}); err == nil {
		g2.Destroy()
		t.Fatal("a second group of the same name was created")
	}
}

func TestRemoveParentRemovesGroupsAndParent(t *testing.T) {
	lay := realLayout(t)
	parent := testParent(t, lay)
	g, err := New(parent, "busy", Limits{Pids: 8})
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command("/bin/sleep", "60")
	if err := g.Start(c); err != nil {
		t.Fatal(err)
	}
	go c.Wait() //nolint:errcheck // reaped when RemoveParent kills it
	if err := RemoveParent(parent); err != nil {
		t.Fatal(err)
	}
	assertGone(t, g, []int{c.Process.Pid})
	for _, dir := range parentDirs(lay, parent) {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("parent %s still exists (%v)", dir, err)
		}
	}
}
