package cgroup

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Group is one cgroup created by New: in every v1 hierarchy the package
// uses, or in the unified v2 hierarchy. It is safe for one goroutine at a
// time; Kill may be called from another.
type Group struct {
	limits    Limits
	impl      hierarchy
	destroyed bool
}

// Usage is what the processes of a Group consumed, children included.
type Usage struct {
	// PeakMemoryBytes is the most memory in use at once (0 when the
	// kernel does not report it: cgroup v2 before Linux 5.19).
	PeakMemoryBytes int64
	// CPU is the total CPU time; UserCPU and SystemCPU split it (both 0
	// when the kernel does not split it).
	CPU, UserCPU, SystemCPU time.Duration
}

// hierarchy is a Group's implementation for one cgroup layout.
type hierarchy interface {
	apply(Limits) error
	add(pid int) error
	oomKilled() (bool, error)
	usage() (Usage, error)
	kill() error
	// empty says whether no process is left in the group.
	empty() (bool, error)
	// remove removes the group's directories, which must be empty.
	remove() error
	// describe names the group's directories for messages.
	describe() string
}

// New creates the cgroup name under parent and applies l. parent is a path
// in the cgroup hierarchy: relative (e.g. "kiln/worker-1") to the cgroup
// this process is in, or absolute from the hierarchy's root. Missing
// parents are created and kept for later groups; the group itself must not
// exist yet. Destroy it when done.
func New(parent, name string, l Limits) (*Group, error) {
	lay, err := detect()
	if err != nil {
		return nil, err
	}
	return newGroup(lay, parent, name, l)
}

func newGroup(lay layout, parent, name string, l Limits) (*Group, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return nil, fmt.Errorf("cgroup name %q is not one path segment", name)
	}
	if l.MemoryBytes < 0 || l.CPUMillis < 0 || l.Pids < 0 {
		return nil, fmt.Errorf("negative limit: %s", l)
	}
	if parent != "" && !filepath.IsLocal(strings.TrimPrefix(parent, "/")) {
		return nil, fmt.Errorf("cgroup parent %q leaves the hierarchy", parent)
	}
	var (
		h   hierarchy
		err error
	)
	switch lay.mode {
	case ModeV2:
		h, err = newV2(lay, parent, name)
	case ModeV1, ModeHybrid:
		h, err = newV1(lay, parent, name)
	default:
		return nil, errors.New("no cgroup file system is mounted")
	}
	if err != nil {
		return nil, err
	}
	if err := h.apply(l); err != nil {
		return nil, errors.Join(fmt.Errorf("applying limits (%s) to %s: %w", l, h.describe(), err), h.remove())
	}
	return &Group{limits: l, impl: h}, nil
}

// base is the directory parent names in a hierarchy whose root is mount
// and in which this process sits in self.
func base(mount, self, parent string) string {
	if strings.HasPrefix(parent, "/") {
		return filepath.Join(mount, parent)
	}
	return filepath.Join(self, parent)
}

// Limits returns the limits the group was created with.
func (g *Group) Limits() Limits { return g.limits }

// String names the group's directories.
func (g *Group) String() string { return g.impl.describe() }

// Add moves the process pid (all its threads) into the group. Prefer
// Start, which never lets the command run outside the group.
func (g *Group) Add(pid int) error {
	if err := g.impl.add(pid); err != nil {
		return fmt.Errorf("adding process %d to %s: %w", pid, g.impl.describe(), err)
	}
	return nil
}

// OOMKilled says whether the kernel's OOM killer killed a process of the
// group because the group reached its memory limit.
//
// With v2 it reads the oom_kill count of memory.events. With v1 it reads
// the oom_kill count of memory.oom_control (Linux 4.13+); on older kernels,
// which lack it, it falls back to memory.failcnt > 0 (the limit was hit),
// which only means an OOM kill when the caller also saw the process die by
// SIGKILL — callers should check that.
func (g *Group) OOMKilled() (bool, error) {
	oom, err := g.impl.oomKilled()
	if err != nil {
		return false, fmt.Errorf("reading OOM events of %s: %w", g.impl.describe(), err)
	}
	return oom, nil
}

// Usage reports peak memory and CPU time so far.
func (g *Group) Usage() (Usage, error) {
	u, err := g.impl.usage()
	if err != nil {
		return Usage{}, fmt.Errorf("reading usage of %s: %w", g.impl.describe(), err)
	}
	return u, nil
}

// Kill sends SIGKILL to every process in the group, including those forked
// while it runs: with v2 through cgroup.kill (the kernel does it
// atomically), with v1 by freezing the group, killing every process listed
// and thawing it. It does not wait for them to die; Destroy does.
func (g *Group) Kill() error {
	if err := g.impl.kill(); err != nil {
		return fmt.Errorf("killing the processes of %s: %w", g.impl.describe(), err)
	}
	return nil
}

// destroyPatience bounds how long Destroy waits for killed processes to
// leave the group (a process in uninterruptible sleep, e.g. on a hung NFS
// mount, can take long).
const destroyPatience = 30 * time.Second

// Destroy kills every process in the group, waits for them to exit and
// removes the group's directories; once it succeeded, later calls do
// nothing. After an error the group may remain; Sweep on the parent
// removes it later.
func (g *Group) Destroy() error {
	if g.destroyed {
		return nil
	}
	deadline := time.Now().Add(destroyPatience)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		if err := g.Kill(); err != nil {
			return err
		}
		empty, err := g.impl.empty()
		if err != nil {
			return fmt.Errorf("destroying %s: %w", g.impl.describe(), err)
		}
		if empty {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("destroying %s: processes still in it after %s", g.impl.describe(), destroyPatience)
		}
		time.Sleep(delay)
	}
	if err := g.impl.remove(); err != nil {
		return fmt.Errorf("removing %s: %w", g.impl.describe(), err)
	}
	g.destroyed = true
	return nil
}
