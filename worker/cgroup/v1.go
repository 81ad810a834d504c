package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cfsPeriodMicros is the CFS period the CPU quota is expressed in.
const cfsPeriodMicros = 100_000

// v1Group is a group in the v1 hierarchies: one directory per distinct
// hierarchy (cpu and cpuacct are often mounted together).
type v1Group struct {
	// dirs maps each controller used to the group's directory in its
	// hierarchy; several controllers may share a directory.
	dirs map[string]string
	// lay is where the hierarchies are mounted.
	lay layout
}

func newV1(lay layout, parent, name string) (*v1Group, error) {
	g := &v1Group{dirs: map[string]string{}, lay: lay}
	for _, c := range append(slices.Clone(v1Required), v1Optional...) {
		mount, ok := lay.v1Mount[c]
		if !ok {
			if slices.Contains(v1Required, c) {
				return nil, fmt.Errorf("cgroup v1: the %s controller is not mounted", c)
			}
			continue
		}
		g.dirs[c] = filepath.Join(base(mount, lay.v1Self[c], parent), name)
	}
	var made []string
	for _, dir := range g.uniqueDirs() {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, errors.Join(fmt.Errorf("creating cgroup parent: %w", err), removeAll(made))
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, errors.Join(fmt.Errorf("creating cgroup: %w", err), removeAll(made))
		}
		made = append(made, dir)
	}
	return g, nil
}

func removeAll(dirs []string) error {
	var errs []error
	for _, d := range dirs {
		errs = append(errs, removeTree(d))
	}
	return errors.Join(errs...)
}

// uniqueDirs lists the group's directories, each once, in a stable order.
func (g *v1Group) uniqueDirs() []string {
	var out []string
	for _, d := range g.dirs {
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

func (g *v1Group) describe() string { return strings.Join(g.uniqueDirs(), ", ") }

func (g *v1Group) apply(l Limits) error {
	if l.MemoryBytes > 0 {
		mem := g.dirs["memory"]
		v := strconv.FormatInt(l.MemoryBytes, 10)
		if err := writeFile(mem, "memory.limit_in_bytes", v); err != nil {
			return err
		}
		// Memory plus swap gets the same bound, so the action cannot
		// swap its way past the limit. Absent without swap accounting.
		if err := writeFile(mem, "memory.memsw.limit_in_bytes", v); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if l.CPUMillis > 0 {
		cpu := g.dirs["cpu"]
		if err := writeFile(cpu, "cpu.cfs_period_us", strconv.Itoa(cfsPeriodMicros)); err != nil {
			return err
		}
		if err := writeFile(cpu, "cpu.cfs_quota_us", strconv.FormatInt(l.CPUMillis*cfsPeriodMicros/1000, 10)); err != nil {
			return err
		}
	}
	if l.Pids > 0 {
		if err := writeFile(g.dirs["pids"], "pids.max", strconv.FormatInt(l.Pids, 10)); err != nil {
			return err
		}
	}
	return nil
}

func (g *v1Group) add(pid int) error {
	for _, dir := range g.uniqueDirs() {
		if err := writeFile(dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// addThread moves one thread only (v1 lets threads of a process sit in
// different cgroups); see Start.
func (g *v1Group) addThread(tid int) error {
	for _, dir := range g.uniqueDirs() {
		if err := writeFile(dir, "tasks", strconv.Itoa(tid)); err != nil {
			return err
		}
	}
	return nil
}

func (g *v1Group) oomKilled() (bool, error) {
	mem := g.dirs["memory"]
	ctl, err := readKeyed(mem, "memory.oom_control")
	if err != nil {
		return false, err
	}
	if n, ok := ctl["oom_kill"]; ok {
		return n > 0, nil
	}
	// Before Linux 4.13: the limit was hit; see Group.OOMKilled.
	fails, err := readInt(mem, "memory.failcnt")
	if err != nil {
		return false, err
	}
	return fails > 0, nil
}

// userHZ is the unit of cpuacct.stat; it is 100 on every Linux ABI.
const userHZ = 100

func (g *v1Group) usage() (Usage, error) {
	var u Usage
	peak, err := readInt(g.dirs["memory"], "memory.max_usage_in_bytes")
	if err != nil {
		return Usage{}, err
	}
	u.PeakMemoryBytes = peak
	acct, ok := g.dirs["cpuacct"]
	if !ok {
		return u, nil
	}
	ns, err := readInt(acct, "cpuacct.usage")
	if err != nil {
		return Usage{}, err
	}
	u.CPU = time.Duration(ns)
	stat, err := readKeyed(acct, "cpuacct.stat")
	if err != nil {
		return Usage{}, err
	}
	u.UserCPU = time.Duration(stat["user"]) * time.Second / userHZ
	u.SystemCPU = time.Duration(stat["system"]) * time.Second / userHZ
	return u, nil
}

// freezePatience bounds the wait for a freeze to take hold; a task in
// uninterruptible sleep may keep the group FREEZING, and killing without
// the freeze is still right, only not race-free.
const freezePatience = time.Second

func (g *v1Group) kill() error {
	// Freezing a group that holds a thread of the worker would freeze
	// the worker; see killListed.
	if err := g.holdsSelf(); err != nil {
		return err
	}
	freezer, ok := g.dirs["freezer"]
	if ok {
		if err := writeFile(freezer, "freezer.state", "FROZEN"); err != nil {
			return err
		}
		waitFrozen(freezer)
		defer writeFile(freezer, "freezer.state", "THAWED") //nolint:errcheck // the processes are dead or dying either way
	}
	// Without a freezer a process may fork between reading the list and
	// the kill; Destroy kills again until the group is empty.
	var errs []error
	for _, dir := range g.uniqueDirs() {
		errs = append(errs, killListed(dir))
	}
	return errors.Join(errs...)
}

// holdsSelf returns an error if a thread of this process is in the group.
func (g *v1Group) holdsSelf() error {
	self := os.Getpid()
	for _, dir := range g.uniqueDirs() {
		pids, err := treePids(dir)
		if err != nil {
			return err
		}
		if slices.Contains(pids, self) {
			return fmt.Errorf("the worker's own process %d is in cgroup %s", self, dir)
		}
	}
	return nil
}

func waitFrozen(freezer string) {
	deadline := time.Now().Add(freezePatience)
	for delay := 100 * time.Microsecond; time.Now().Before(deadline); delay = min(2*delay, 10*time.Millisecond) {
		b, err := os.ReadFile(filepath.Join(freezer, "freezer.state"))
		if err != nil || strings.TrimSpace(string(b)) == "FROZEN" {
			return
		}
		time.Sleep(delay)
	}
}

func (g *v1Group) empty() (bool, error) {
	for _, dir := range g.uniqueDirs() {
		pids, err := treePids(dir)
		if err != nil {
			return false, err
		}
		if len(pids) > 0 {
			return false, nil
		}
	}
	return true, nil
}

func (g *v1Group) remove() error { return removeAll(g.uniqueDirs()) }
