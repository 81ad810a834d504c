package cgroup

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// FD returns the group's open directory for SysProcAttr.CgroupFD (with
// UseCgroupFD), and true, with cgroup v2; with v1 it returns -1, false.
// The descriptor stays valid until Destroy.
func (g *Group) FD() (int, bool) {
	if v2, ok := g.impl.(*v2Group); ok && v2.fd >= 0 {
		return v2.fd, true
	}
	return -1, false
}

// Start starts cmd with its first process already in the group, so that
// nothing it does escapes the limits, not even before it could be added.
//
// With v2 it sets cmd.SysProcAttr.UseCgroupFD (clone3 with
// CLONE_INTO_CGROUP, Linux 5.7+). With v1, which has no such flag, a
// goroutine locked to a fresh OS thread moves that thread alone into the
// group, starts cmd (a child inherits the cgroups of the thread that forks
// it) and moves the thread back. Should the move back fail, the command is
// killed and the goroutine ends still locked, which ends the thread: no
// thread of the worker ever stays in an action's group, where Kill would hit
// it. The forking thread lives on as long as the worker, so
// SysProcAttr.Pdeathsig keeps its meaning.
//
// Other SysProcAttr fields (namespaces, credentials, Pdeathsig) are kept.
func (g *Group) Start(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	if fd, ok := g.FD(); ok {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = fd
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		return cmd.Start()
	}
	v1, ok := g.impl.(*v1Group)
	if !ok {
		return errors.New("cgroup: no way to start a process in this group")
	}
	done := make(chan error, 1)
	go func() { done <- v1.startFromThread(cmd) }()
	return <-done
}

// startFromThread is Start for v1; it runs on a goroutine of its own.
func (g *v1Group) startFromThread(cmd *exec.Cmd) error {
	runtime.LockOSThread()
	tid := unix.Gettid()
	home, err := threadCgroups(tid)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	if err := g.addThread(tid); err != nil {
		// It may have joined some hierarchies; the thread ends with
		// the goroutine, still locked.
		return fmt.Errorf("moving the starting thread into %s: %w", g.describe(), err)
	}
	startErr := cmd.Start()
	if err := moveThreadHome(tid, home, g); err != nil {
		if startErr == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		return err
	}
	runtime.UnlockOSThread()
	return startErr
}

// threadCgroups reads the v1 cgroup path of thread tid by controller.
func threadCgroups(tid int) (map[string]string, error) {
	b, err := os.ReadFile("/proc/thread-self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("reading the cgroups of thread %d: %w", tid, err)
	}
	paths := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[1] == "" {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			paths[c] = parts[2]
		}
	}
	return paths, nil
}

// moveThreadHome puts thread tid back into the cgroups it came from.
func moveThreadHome(tid int, home map[string]string, g *v1Group) error {
	moved := map[string]bool{}
	for c := range g.dirs {
		mount := g.lay.v1Mount[c]
		if moved[mount] {
			continue
		}
		moved[mount] = true
		dir := within(mount, g.lay.v1Root[c], home[c])
		if err := writeFile(dir, "tasks", strconv.Itoa(tid)); err != nil {
			return fmt.Errorf("moving the starting thread back to %s: %w", dir, err)
		}
	}
	return nil
}
