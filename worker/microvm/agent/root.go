package agent

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/kilnbuild/kiln/worker/microvm/guestproto"
)

// prepareRoot assembles the action's root on a tmpfs: the kernel's
// filesystems, a scratch /tmp, the toolchain devices read-only and the
// symlinks between them; then the agent moves into it for good.
func prepareRoot(s *guestproto.Setup) error {
	if err := os.MkdirAll(actionRoot, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", actionRoot, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("mounting the root tmpfs: %w", err)
	}
	for _, m := range []struct {
		fstype, target, data string
		flags                uintptr
	}{
		{"devtmpfs", "dev", "", unix.MS_NOSUID},
		{"proc", "proc", "", unix.MS_NOSUID | unix.MS_NODEV},
		{"sysfs", "sys", "", unix.MS_NOSUID | unix.MS_NODEV},
		{"tmpfs", "tmp", "mode=1777", unix.MS_NOSUID | unix.MS_NODEV},
	} {
		target := filepath.Join(actionRoot, m.target)
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(m.fstype, target, m.fstype, m.flags, m.data); err != nil {
			return fmt.Errorf("mounting %s on %s: %w", m.fstype, target, err)
		}
	}
	for _, m := range s.Mounts {
		dev, err := deviceBySerial(m.Serial)
		if err != nil {
			return err
		}
		target := filepath.Join(actionRoot, filepath.Clean("/"+m.Path))
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(dev, target, m.FSType, unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("mounting %s (%s) on %s: %w", dev, m.Serial, m.Path, err)
		}
	}
	for _, l := range s.Symlinks {
		p := filepath.Join(actionRoot, filepath.Clean("/"+l.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(l.Target, p); err != nil {
			return fmt.Errorf("creating the symlink %s: %w", l.Path, err)
		}
	}
	if err := unix.Chroot(actionRoot); err != nil {
		return fmt.Errorf("entering the action's root: %w", err)
	}
	return unix.Chdir("/")
}
