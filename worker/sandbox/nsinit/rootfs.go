package nsinit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// While the new root is assembled, a scratch tmpfs is the root, with the
// host's tree below it at oldRoot and the new root at newRoot. Every host
// path stays reachable under oldRoot, even the one the scratch tmpfs was
// first mounted on.
const (
	scratch = "/tmp"
	newRoot = "/newroot"
	oldRoot = "/oldroot"
)

// prepareRoot builds the part of the command's file system that is the
// same for every action: a tmpfs root holding the read-only host paths, a
// minimal /dev and a /proc of the new PID namespace. The host's tree stays
// reachable at oldRoot until enterRoot.
func prepareRoot(sb *Sandbox) error {
	// Nothing mounted from now on may propagate to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making the mount namespace private: %w", err)
	}
	if err := mountTmpfs(scratch, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0700,size=64k"); err != nil {
		return err
	}
	for _, d := range []string{scratch + newRoot, scratch + oldRoot} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	if err := mountTmpfs(scratch+newRoot, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755,size=1m"); err != nil {
		return err
	}
	if err := unix.PivotRoot(scratch, scratch+oldRoot); err != nil {
		return fmt.Errorf("pivot_root to the scratch tmpfs: %w", err)
	}
	if err := os.Chdir("/"); err != nil {
		return err
	}
	for _, p := range sb.ReadOnlyPaths {
		if err := addHostPath(p); err != nil {
			return fmt.Errorf("read-only path %s: %w", p, err)
		}
	}
	if err := buildDev(newRoot + "/dev"); err != nil {
		return fmt.Errorf("/dev: %w", err)
	}
	// A proc of the new PID namespace shows the sandbox's processes only.
	// It must be mounted while the host's proc is still visible: the
	// kernel refuses a new proc to a namespace that sees none whole.
	if err := ensureDir(newRoot + "/proc"); err != nil {
		return err
	}
	if err := unix.Mount("proc", newRoot+"/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	return nil
}

// enterRoot adds the action's directories, writable (/tmp, and the input
// root at its own path), detaches the host's tree and makes the new root
// the root, read-only: nothing else of the host remains reachable.
func enterRoot(act *Action) error {
	if err := addWritableDir(act.TmpDir, "/tmp"); err != nil {
		return fmt.Errorf("/tmp: %w", err)
	}
	stubs, err := stubsUnderTmp(act.RootDir)
	if err != nil {
		return fmt.Errorf("input root %s: %w", act.RootDir, err)
	}
	if err := addWritableDir(act.RootDir, act.RootDir); err != nil {
		return fmt.Errorf("input root %s: %w", act.RootDir, err)
	}
	if stubs != "" {
		if err := unix.Mount("", stubs, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("making %s read-only: %w", stubs, err)
		}
	}
	if err := unix.Unmount(oldRoot, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the host's tree: %w", err)
	}
	// pivot_root(".", ".") stacks the scratch root on top of the new one;
	// unmounting "." then removes it.
	if err := os.Chdir(newRoot); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root to the new root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the scratch root: %w", err)
	}
	if err := os.Chdir("/"); err != nil {
		return err
	}
	// The root tmpfs holds mount points only; read-only, nothing but /tmp
	// and the input root can be written.
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("making the root read-only: %w", err)
	}
	return nil
}

// addHostPath makes the host path p visible read-only at the same place:
// a directory or file by a bind mount, a symbolic link (/bin -> usr/bin on
// merged-/usr systems) as a copy of the link. A path the host lacks is
// skipped, so that one list fits hosts with and without /lib32.
func addHostPath(p string) error {
	src, dst := oldRoot+p, newRoot+p
	fi, err := os.Lstat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := ensureDir(path.Dir(dst)); err != nil {
		return err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if _, err := os.Lstat(dst); err == nil {
			return nil // inside a path mounted before: the host's own link
		}
		return os.Symlink(target, dst)
	case fi.IsDir():
		if err := ensureDir(dst); err != nil {
			return err
		}
		return bindMount(src, dst, true, readOnlyAttrs)
	default:
		if err := ensureFile(dst); err != nil {
			return err
		}
		return bindMount(src, dst, false, readOnlyAttrs)
	}
}

// stubsUnderTmp makes, for an input root under /tmp (a worker whose data
// directory is there), the directories leading to it on a tmpfs of their
// own over its first one, and returns that tmpfs, which the caller makes
// read-only once the input root is mounted. Made in the action's /tmp, on
// disk, they would cost more, and the action, owner of its /tmp, could
// fill them as if they were the host's.
func stubsUnderTmp(rootDir string) (string, error) {
	rel, ok := strings.CutPrefix(rootDir, "/tmp/")
	if !ok {
		return "", nil // on the root tmpfs, read-only at the end
	}
	top, _, nested := strings.Cut(rel, "/")
	if !nested {
		return "", nil
	}
	dir := newRoot + "/tmp/" + top
	if err := ensureDir(dir); err != nil {
		return "", err
	}
	if err := mountTmpfs(dir, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755,size=64k"); err != nil {
		return "", err
	}
	return dir, ensureDir(newRoot + rootDir)
}

// addWritableDir mounts the host directory hostDir at dir, writable, with
// neither set-user-id programs nor devices.
func addWritableDir(hostDir, dir string) error {
	if err := ensureDir(newRoot + dir); err != nil {
		return err
	}
	return bindMount(oldRoot+hostDir, newRoot+dir, false, writableAttrs)
}
