package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// v2Controllers are enabled for action groups wherever the parent offers
// them, so that usage can be read even when no limit is set.
var v2Controllers = []string{"cpu", "memory", "pids"}

// v2Group is a group in the unified hierarchy.
type v2Group struct {
	dir string
	// fd is the open group directory, for CLONE_INTO_CGROUP; -1 after
	// remove.
	fd int
}

func newV2(lay layout, parent, name string) (*v2Group, error) {
	start := lay.v2Self
	if strings.HasPrefix(parent, "/") {
		start = lay.v2Mount
	}
	parentDir := base(lay.v2Mount, lay.v2Self, parent)
	if err := ensureV2Parent(start, parentDir); err != nil {
		return nil, err
	}
	dir := filepath.Join(parentDir, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating cgroup: %w", err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("opening cgroup %s: %w", dir, err), removeTree(dir))
	}
	return &v2Group{dir: dir, fd: fd}, nil
}

// ensureV2Parent creates the directories from start down to parent and
// enables the controllers in each directory on the way (start included)
// that offers them, so that the groups made in parent get them.
func ensureV2Parent(start, parent string) error {
	rel, err := filepath.Rel(start, parent)
	if err != nil {
		return err
	}
	dir := start
	segments := []string{}
	if rel != "." {
		segments = strings.Split(rel, string(filepath.Separator))
	}
	for i := 0; ; i++ {
		if err := enableControllers(dir); err != nil {
			return err
		}
		if i == len(segments) {
			return nil
		}
		dir = filepath.Join(dir, segments[i])
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("creating cgroup parent: %w", err)
		}
	}
}

// enableControllers turns on, for dir's children, the controllers of
// v2Controllers that dir has and has not enabled yet.
func enableControllers(dir string) error {
	have, err := readControllers(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return err
	}
	on, err := readControllers(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return err
	}
	var want []string
	for _, c := range v2Controllers {
		if have[c] && !on[c] {
			want = append(want, "+"+c)
		}
	}
	if len(want) == 0 {
		return nil
	}
	if err := writeFile(dir, "cgroup.subtree_control", strings.Join(want, " ")); err != nil {
		if errors.Is(err, syscall.EBUSY) {
			return fmt.Errorf("enabling %s in %s: the cgroup holds processes, and cgroup v2 only gives controllers to the children of cgroups without any; "+
				"move the worker into a leaf cgroup of its own or give an absolute parent elsewhere: %w", strings.Join(want, " "), dir, err)
		}
		return fmt.Errorf("enabling %s in %s: %w", strings.Join(want, " "), dir, err)
	}
	return nil
}

func (g *v2Group) describe() string { return g.dir }

func (g *v2Group) apply(l Limits) error {
	// needs writes a limit whose controller must be present.
	needs := func(controller, file, value string) error {
		err := writeFile(g.dir, file, value)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("the %s controller is not enabled for %s (no %s)", controller, g.dir, file)
		}
		return err
	}
	if l.MemoryBytes > 0 {
		if err := needs("memory", "memory.max", strconv.FormatInt(l.MemoryBytes, 10)); err != nil {
			return err
		}
		// No swap beyond the limit. Absent when swap is not accounted.
		if err := writeFile(g.dir, "memory.swap.max", "0"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		// An OOM kills the whole action, not one process of it that a
		// build tool would then report as a confusing partial failure.
		if err := writeFile(g.dir, "memory.oom.group", "1"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if l.CPUMillis > 0 {
		quota := l.CPUMillis * cfsPeriodMicros / 1000
		if err := needs("cpu", "cpu.max", fmt.Sprintf("%d %d", quota, cfsPeriodMicros)); err != nil {
			return err
		}
	}
	if l.Pids > 0 {
		if err := needs("pids", "pids.max", strconv.FormatInt(l.Pids, 10)); err != nil {
			return err
		}
	}
	return nil
}

func (g *v2Group) add(pid int) error {
	return writeFile(g.dir, "cgroup.procs", strconv.Itoa(pid))
}

func (g *v2Group) oomKilled() (bool, error) {
	ev, err := readKeyed(g.dir, "memory.events")
	if errors.Is(err, fs.ErrNotExist) {
		// No memory controller: nothing here can have hit a limit.
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return ev["oom_kill"] > 0, nil
}

func (g *v2Group) usage() (Usage, error) {
	var u Usage
	peak, err := readInt(g.dir, "memory.peak")
	switch {
	case err == nil:
		u.PeakMemoryBytes = peak
	case !errors.Is(err, fs.ErrNotExist): // before 5.19 or no memory controller
		return Usage{}, err
	}
	stat, err := readKeyed(g.dir, "cpu.stat")
	if err != nil {
		return Usage{}, err
	}
	u.CPU = time.Duration(stat["usage_usec"]) * time.Microsecond
	u.UserCPU = time.Duration(stat["user_usec"]) * time.Microsecond
	u.SystemCPU = time.Duration(stat["system_usec"]) * time.Microsecond
	return u, nil
}

func (g *v2Group) kill() error {
	err := writeFile(g.dir, "cgroup.kill", "1")
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	// Before Linux 5.14: freeze, kill what is listed, thaw.
	if err := writeFile(g.dir, "cgroup.freeze", "1"); err != nil {
		return err
	}
	defer writeFile(g.dir, "cgroup.freeze", "0") //nolint:errcheck // the processes are dead or dying either way
	deadline := time.Now().Add(freezePatience)
	for delay := 100 * time.Microsecond; time.Now().Before(deadline); delay = min(2*delay, 10*time.Millisecond) {
		ev, err := readKeyed(g.dir, "cgroup.events")
		if err != nil || ev["frozen"] == 1 {
			break
		}
		time.Sleep(delay)
	}
	return killListed(g.dir)
}

func (g *v2Group) empty() (bool, error) {
	ev, err := readKeyed(g.dir, "cgroup.events")
	if err != nil {
		return false, err
	}
	return ev["populated"] == 0, nil
}

func (g *v2Group) remove() error {
	if g.fd >= 0 {
		unix.Close(g.fd)
		g.fd = -1
	}
	return removeTree(g.dir)
}
