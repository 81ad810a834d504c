package nsinit

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Attributes of the mounts the init makes visible to the command.
const (
	readOnlyAttrs = unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV
	writableAttrs = unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV
	deviceAttrs   = unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NOEXEC
)

// bindMount mounts src on dst (which exists) with attrs, submounts
// included when recursive. The attributes cover every submount too: a
// read-only /usr with a writable /usr/local inside would be no read-only
// /usr.
func bindMount(src, dst string, recursive bool, attrs uint64) error {
	flags := uintptr(unix.MS_BIND)
	if recursive {
		flags |= unix.MS_REC
	}
	if err := unix.Mount(src, dst, "", flags, ""); err != nil {
		return fmt.Errorf("bind-mounting %s: %w", src, err)
	}
	err := setAttrs(dst, recursive, attrs)
	if errors.Is(err, unix.ENOSYS) {
		// Linux before 5.12 has no mount_setattr, and a remount changes
		// one mount only: bind the top mount alone then, so that no
		// writable submount comes along.
		if err := unix.Unmount(dst, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmounting %s: %w", dst, err)
		}
		if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind-mounting %s: %w", src, err)
		}
		err = remount(dst, attrs)
	}
	if err != nil {
		return fmt.Errorf("setting the attributes of %s: %w", src, err)
	}
	return nil
}

func setAttrs(dst string, recursive bool, attrs uint64) error {
	var flags uint
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	return unix.MountSetattr(unix.AT_FDCWD, dst, flags, &unix.MountAttr{Attr_set: attrs})
}

// remount applies attrs to the one mount at dst. Flags the mount already
// has are kept: in a user namespace, those inherited from the host are
// locked, and a remount that drops one fails.
func remount(dst string, attrs uint64) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dst, &st); err != nil {
		return err
	}
	flags := uintptr(unix.MS_REMOUNT | unix.MS_BIND)
	for _, f := range []struct{ st, ms uintptr }{
		{unix.ST_RDONLY, unix.MS_RDONLY}, {unix.ST_NOSUID, unix.MS_NOSUID},
		{unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if uintptr(st.Flags)&f.st != 0 {
			flags |= f.ms
		}
	}
	for _, f := range []struct {
		attr uint64
		ms   uintptr
	}{
		{unix.MOUNT_ATTR_RDONLY, unix.MS_RDONLY}, {unix.MOUNT_ATTR_NOSUID, unix.MS_NOSUID},
		{unix.MOUNT_ATTR_NODEV, unix.MS_NODEV}, {unix.MOUNT_ATTR_NOEXEC, unix.MS_NOEXEC},
	} {
		if attrs&f.attr != 0 {
			flags |= f.ms
		}
	}
	return unix.Mount("", dst, "", flags, "")
}

// mountTmpfs mounts a fresh tmpfs on dir (which exists).
func mountTmpfs(dir string, flags uintptr, options string) error {
	if err := unix.Mount("tmpfs", dir, "tmpfs", flags, options); err != nil {
		return fmt.Errorf("mounting a tmpfs on %s: %w", dir, err)
	}
	return nil
}

// ensureDir makes dir and its parents, keeping what exists.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating mount point: %w", err)
	}
	return nil
}

// ensureFile makes an empty file at p to mount a file on, keeping one
// that exists.
func ensureFile(p string) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("creating mount point: %w", err)
	}
	return f.Close()
}
