package microvm

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// errBadOutputs is wrapped when the guest's account of its outputs cannot
// be applied: a guest is untrusted, and what it sends may be crafted.
var errBadOutputs = errors.New("the guest's outputs are malformed")

// applyOutputs replays into root what the action did to its input root in
// the guest: it removes the entries the guest reports removed, then
// writes the tar of entries it created or changed. Every path is resolved
// below root without following a symlink, so nothing outside root is
// touched whatever the tar says; a file is replaced, never written
// through, since input files may be hard links into the worker's cache.
func applyOutputs(root string, outputs io.Reader, removed []string) error {
	rootFd, err := unix.Open(root, unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening the input root: %w", err)
	}
	defer unix.Close(rootFd)

	for _, r := range removed {
		rel, err := cleanOutputPath(r)
		if err != nil {
			return err
		}
		dirFd, base, err := openParent(rootFd, rel, false)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%w: removing %s: %w", errBadOutputs, rel, err)
		}
		err = removeAt(dirFd, base)
		unix.Close(dirFd)
		if err != nil {
			return fmt.Errorf("removing %s: %w", rel, err)
		}
	}

	// Directories are made writable while their content is written and
	// get their own mode at the end, deepest first.
	var dirModes []dirMode
	tr := tar.NewReader(outputs)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: reading the tar: %w", errBadOutputs, err)
		}
		if err := applyEntry(rootFd, h, tr, &dirModes); err != nil {
			return err
		}
	}
	for i := len(dirModes) - 1; i >= 0; i-- {
		d := dirModes[i]
		dirFd, base, err := openParent(rootFd, d.rel, false)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", errBadOutputs, d.rel, err)
		}
		err = unix.Fchmodat(dirFd, base, d.perm, 0)
		unix.Close(dirFd)
		if err != nil {
			return fmt.Errorf("setting the mode of %s: %w", d.rel, err)
		}
	}
	return nil
}

type dirMode struct {
	rel  string
	perm uint32
}

func applyEntry(rootFd int, h *tar.Header, r io.Reader, dirModes *[]dirMode) error {
	rel, err := cleanOutputPath(h.Name)
	if err != nil {
		return err
	}
	dirFd, base, err := openParent(rootFd, rel, true)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", errBadOutputs, rel, err)
	}
	defer unix.Close(dirFd)
	perm := uint32(h.Mode) & 0o777
	var st unix.Stat_t
	exists := unix.Fstatat(dirFd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
	isDir := exists && st.Mode&unix.S_IFMT == unix.S_IFDIR

	switch h.Typeflag {
	case tar.TypeDir:
		*dirModes = append(*dirModes, dirMode{rel: rel, perm: perm})
		if isDir {
			return unix.Fchmodat(dirFd, base, perm|0o700, 0)
		}
		if exists {
			if err := unix.Unlinkat(dirFd, base, 0); err != nil {
				return err
			}
		}
		return unix.Mkdirat(dirFd, base, perm|0o700)
	case tar.TypeReg:
		if exists {
			if err := removeAt(dirFd, base); err != nil {
				return err
			}
		}
		fd, err := unix.Openat(dirFd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
		if err != nil {
			return fmt.Errorf("creating %s: %w", rel, err)
		}
		f := os.NewFile(uintptr(fd), rel)
		_, err = io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("writing %s: %w", rel, err)
		}
		// Creation masks the mode with the umask; outputs keep theirs.
		return unix.Fchmodat(dirFd, base, perm, 0)
	case tar.TypeSymlink:
		if exists {
			if err := removeAt(dirFd, base); err != nil {
				return err
			}
		}
		return unix.Symlinkat(h.Linkname, dirFd, base)
	default:
		// Nothing else can be an output.
		return nil
	}
}

// cleanOutputPath checks a path the guest sent: relative, below the root.
func cleanOutputPath(p string) (string, error) {
	c := path.Clean(strings.TrimSuffix(p, "/"))
	if p == "" || path.IsAbs(p) || c == "." || c == ".." || strings.HasPrefix(c, "../") || strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("%w: path %q is not inside the input root", errBadOutputs, p)
	}
	return c, nil
}

// openParent opens the directory holding rel below rootFd, refusing to
// follow symlinks; create makes missing directories.
func openParent(rootFd int, rel string, create bool) (int, string, error) {
	parts := strings.Split(rel, "/")
	fd, err := unix.Dup(rootFd)
	if err != nil {
		return -1, "", err
	}
	for _, part := range parts[:len(parts)-1] {
		next, err := unix.Openat(fd, part, unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) && create {
			if err = unix.Mkdirat(fd, part, 0o755); err == nil || errors.Is(err, unix.EEXIST) {
				next, err = unix.Openat(fd, part, unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0)
			}
		}
		unix.Close(fd)
		if err != nil {
			if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
				return -1, "", fmt.Errorf("%s is not a directory below the input root", part)
			}
			return -1, "", err
		}
		fd = next
	}
	return fd, parts[len(parts)-1], nil
}

// removeAt removes name in dirFd, a whole tree when it is a directory.
func removeAt(dirFd int, name string) error {
	err := unix.Unlinkat(dirFd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) {
		return err
	}
	// os.RemoveAll walks with openat and O_NOFOLLOW; the /proc path only
	// names the directory already opened.
	return os.RemoveAll(fmt.Sprintf("/proc/self/fd/%d/%s", dirFd, name))
}
