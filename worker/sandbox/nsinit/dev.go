package nsinit

import (
	"fmt"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// devices are the host device nodes a build may need, bind-mounted: a
// process without privileges cannot create device nodes, even as root of a
// user namespace.
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// devLinks are the usual links of /dev.
var devLinks = [][2]string{
	{"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"},
	{"ptmx", "pts/ptmx"},
}

// buildDev makes a minimal /dev at dev: the devices above, the links, a
// private /dev/shm and /dev/pts; read-only except shm and pts.
func buildDev(dev string) error {
	if err := ensureDir(dev); err != nil {
		return err
	}
	if err := mountTmpfs(dev, unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0755,size=64k"); err != nil {
		return err
	}
	for _, name := range devices {
		src := path.Join(oldRoot, "dev", name)
		if _, err := os.Stat(src); err != nil {
			continue // a host without it (some containers lack tty)
		}
		dst := path.Join(dev, name)
		if err := ensureFile(dst); err != nil {
			return err
		}
		if err := bindMount(src, dst, false, deviceAttrs); err != nil {
			return err
		}
	}
	for _, l := range devLinks {
		if err := os.Symlink(l[1], path.Join(dev, l[0])); err != nil {
			return fmt.Errorf("linking /dev/%s: %w", l[0], err)
		}
	}
	shm, pts := path.Join(dev, "shm"), path.Join(dev, "pts")
	if err := os.Mkdir(shm, 0o755); err != nil {
		return err
	}
	if err := mountTmpfs(shm, unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
		return err
	}
	if err := os.Mkdir(pts, 0o755); err != nil {
		return err
	}
	// A new instance: the host's terminals stay out of reach.
	if err := unix.Mount("devpts", pts, "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
		return fmt.Errorf("mounting /dev/pts: %w", err)
	}
	if err := unix.Mount("", dev, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("making /dev read-only: %w", err)
	}
	return nil
}
