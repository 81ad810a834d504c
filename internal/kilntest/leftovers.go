package kilntest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ProcInfo is a process as /proc shows it.
type ProcInfo struct {
	Pid int
	// Pgid is its process group; Pid == Pgid for a group leader, which
	// is how a runner starts an action's top process.
	Pgid int
	// Cmdline is its arguments, joined by spaces.
	Cmdline string
}

func (p ProcInfo) String() string { return fmt.Sprintf("%d (group %d): %s", p.Pid, p.Pgid, p.Cmdline) }

// Leader reports whether p leads its process group.
func (p ProcInfo) Leader() bool { return p.Pid == p.Pgid }

// ProcessesIn lists the processes whose working directory is dir or below
// it, read from /proc (Linux): the ones in a worker's data directory are
// its actions' commands, and after the worker was killed, what it left.
// Zombies have no working directory and are not listed.
func ProcessesIn(dir string) ([]ProcInfo, error) {
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var procs []ProcInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// Processes that ended meanwhile or belong to another user
		// cannot be read; neither is one of ours.
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err != nil {
			continue
		}
		cwd = strings.TrimSuffix(cwd, " (deleted)")
		if cwd != dir && !strings.HasPrefix(cwd, dir+string(filepath.Separator)) {
			continue
		}
		p, err := procInfo(pid)
		if err != nil {
			continue
		}
		procs = append(procs, p)
	}
	return procs, nil
}

func procInfo(pid int) (ProcInfo, error) {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return ProcInfo{}, err
	}
	// "pid (comm) state ppid pgrp ...": comm may hold spaces and
	// parentheses, so the fields are counted after the last ')'.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return ProcInfo{}, fmt.Errorf("cannot read %s/stat: %q", dir, stat)
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 3 {
		return ProcInfo{}, fmt.Errorf("cannot read %s/stat: %q", dir, stat)
	}
	pgid, err := strconv.Atoi(fields[2])
	if err != nil {
		return ProcInfo{}, fmt.Errorf("process group in %s/stat: %w", dir, err)
	}
	cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return ProcInfo{}, err
	}
	args := strings.TrimRight(strings.ReplaceAll(string(cmdline), "\x00", " "), " ")
	return ProcInfo{Pid: pid, Pgid: pgid, Cmdline: args}, nil
}
