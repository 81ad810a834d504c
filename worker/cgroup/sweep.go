package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"syscall"
)

// Sweep kills the processes of every group under parent and removes the
// groups, parent itself kept: a worker calls it at start for the groups a
// previous run left behind when it crashed. parent is read as by New; a
// parent that does not exist is fine.
func Sweep(parent string) error {
	lay, err := detect()
	if err != nil {
		return err
	}
	return sweep(lay, parent)
}

// RemoveParent sweeps parent (see Sweep) and removes it too, in every
// hierarchy; its own parents are kept. A worker may call it when it stops;
// tests call it to leave nothing behind.
func RemoveParent(parent string) error {
	lay, err := detect()
	if err != nil {
		return err
	}
	if err := sweep(lay, parent); err != nil {
		return err
	}
	var errs []error
	for _, dir := range parentDirs(lay, parent) {
		if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, &fs.PathError{Op: "rmdir", Path: dir, Err: err})
		}
	}
	return errors.Join(errs...)
}

// parentDirs lists the directories parent names, one per hierarchy.
func parentDirs(lay layout, parent string) []string {
	if lay.mode == ModeV2 {
		return []string{base(lay.v2Mount, lay.v2Self, parent)}
	}
	var dirs []string
	for c, mount := range lay.v1Mount {
		d := base(mount, lay.v1Self[c], parent)
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

func sweep(lay layout, parent string) error {
	var groups []*Group
	switch lay.mode {
	case ModeV2:
		dir := base(lay.v2Mount, lay.v2Self, parent)
		names, err := subgroups(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		for _, n := range names {
			groups = append(groups, &Group{impl: &v2Group{dir: filepath.Join(dir, n), fd: -1}})
		}
	case ModeV1, ModeHybrid:
		byName := map[string]*v1Group{}
		var names []string
		for c, mount := range lay.v1Mount {
			dir := base(mount, lay.v1Self[c], parent)
			children, err := subgroups(dir)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			for _, n := range children {
				g, ok := byName[n]
				if !ok {
					g = &v1Group{dirs: map[string]string{}, lay: lay}
					byName[n] = g
					names = append(names, n)
				}
				g.dirs[c] = filepath.Join(dir, n)
			}
		}
		slices.Sort(names)
		for _, n := range names {
			groups = append(groups, &Group{impl: byName[n]})
		}
	default:
		return errors.New("no cgroup file system is mounted")
	}
	var errs []error
	for _, g := range groups {
		if err := g.Destroy(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("sweeping cgroups under %q: %w", parent, errors.Join(errs...))
	}
	return nil
}
