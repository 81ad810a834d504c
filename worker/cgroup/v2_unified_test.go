package cgroup

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestV2OnHybridUnifiedHierarchy runs the v2 code against the real cgroup2
// mount of a hybrid host. It has no controllers there, so no limits, but
// creation, CLONE_INTO_CGROUP, cgroup.kill, cgroup.events and removal are
// the kernel's own.
func TestV2OnHybridUnifiedHierarchy(t *testing.T) {
	lay := realLayout(t)
	if lay.mode != ModeHybrid {
		t.Skipf("mode %v: the other tests cover the native layout", lay.mode)
	}
	v2 := layout{mode: ModeV2, v2Mount: lay.v2Mount, v2Self: lay.v2Self}
	g := newTestGroup(t, v2, Limits{})
	if _, ok := g.FD(); !ok {
		t.Fatal("a v2 group has no FD")
	}
	c := exec.Command("/bin/sh", "-c", `setsid sleep 60 & sleep 60 & wait`)
	if err := g.Start(c); err != nil {
		t.Fatal(err)
	}
	var pids []int
	for deadline := time.Now().Add(10 * time.Second); len(pids) < 3 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		var err error
		if pids, err = readPids(groupDirs(g)[0]); err != nil {
			t.Fatal(err)
		}
	}
	if len(pids) < 3 || pids[0] != c.Process.Pid {
		t.Fatalf("group holds %v, want the shell %d first and its two children", pids, c.Process.Pid)
	}
	if empty, err := g.impl.empty(); err != nil || empty {
		t.Fatalf("empty = %v, %v while processes run", empty, err)
	}
	if oom, err := g.OOMKilled(); err != nil || oom {
		t.Errorf("OOMKilled = %v, %v without a memory controller", oom, err)
	}
	if u, err := g.Usage(); err != nil || u.CPU <= 0 {
		t.Errorf("usage %+v, %v: want CPU time from cpu.stat", u, err)
	}
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = c.Wait()
	if ws, _ := c.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("the shell ended with %v, not SIGKILL", c.ProcessState)
	}
	if err := g.Destroy(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, g, pids)
	if _, ok := g.FD(); ok {
		t.Error("FD still offered after Destroy")
	}
}
