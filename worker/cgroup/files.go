package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// writeFile writes one value to a cgroup control file, which must exist:
// cgroup files are never created, and a write is one kernel operation.
func writeFile(dir, name, value string) error {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	return errors.Join(err, f.Close())
}

// readInt reads a control file holding one integer ("max" reads as -1).
func readInt(dir, name string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return -1, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return n, nil
}

// readKeyed reads a flat-keyed control file ("key value" lines, as in
// memory.events or cpu.stat) into a map.
func readKeyed(dir, name string) (map[string]int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out, nil
}

// readPids reads cgroup.procs.
func readPids(dir string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// treePids lists the processes in dir and in the child cgroups a process
// may have created in it.
func treePids(dir string) ([]int, error) {
	pids, err := readPids(dir)
	if err != nil {
		return nil, err
	}
	children, err := subgroups(dir)
	if err != nil {
		return nil, err
	}
	for _, c := range children {
		more, err := treePids(filepath.Join(dir, c))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		pids = append(pids, more...)
	}
	return pids, nil
}

// killListed sends SIGKILL to every process in dir and its child cgroups.
func killListed(dir string) error {
	pids, err := treePids(dir)
	if err != nil {
		return err
	}
	self := os.Getpid()
	for _, pid := range pids {
		if pid == self {
			// Only a bug puts the worker in an action's group; it
			// must not kill itself for it.
			return fmt.Errorf("the worker's own process %d is in cgroup %s", self, dir)
		}
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("killing process %d: %w", pid, err)
		}
	}
	return nil
}

// subgroups lists the child cgroups of dir.
func subgroups(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// removeTree removes a cgroup directory and the child cgroups a process
// may have created in it, deepest first. cgroup directories are removed
// with rmdir even though they list control files.
func removeTree(dir string) error {
	children, err := subgroups(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, c := range children {
		if err := removeTree(filepath.Join(dir, c)); err != nil {
			return err
		}
	}
	if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
		return &fs.PathError{Op: "rmdir", Path: dir, Err: err}
	}
	return nil
}
