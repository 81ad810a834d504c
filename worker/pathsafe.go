package worker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Everything the worker does in an action directory goes through these
// helpers, because the directory's content comes from the client (inputs)
// and from the action (outputs): neither may make the worker read or write
// outside of it.

// errEscapes is wrapped by errors for paths and symlinks that lead outside
// the input root.
var errEscapes = errors.New("leads outside the input root")

// maxSymlinkFollows bounds symlink resolution, as the kernel's ELOOP does.
const maxSymlinkFollows = 40

// checkName reports whether name is usable as one entry of a Directory: a
// single path segment.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("name %q is not a file name", name)
	case strings.ContainsRune(name, '/'):
		return fmt.Errorf("name %q contains a slash", name)
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("name %q contains a NUL byte", name)
	}
	return nil
}

// cleanRelative validates a slash-separated relative path from the client
// (working_directory, output paths) and returns it cleaned, "" for the
// directory itself. allowEmpty says whether "" is acceptable.
func cleanRelative(p string, allowEmpty bool) (string, error) {
	switch {
	case p == "":
		if allowEmpty {
			return "", nil
		}
		return "", errors.New("path is empty")
	case strings.HasPrefix(p, "/"):
		return "", fmt.Errorf("path %q is absolute", p)
	case strings.HasSuffix(p, "/"):
		return "", fmt.Errorf("path %q ends with a slash", p)
	case strings.ContainsRune(p, 0):
		return "", fmt.Errorf("path %q contains a NUL byte", p)
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("path %q %w", p, errEscapes)
	}
	if c == "." {
		c = ""
	}
	return c, nil
}

// within joins a relative path under root, for paths that resolveInside
// returned or that cleanRelative validated.
func within(root, rel string) string {
	if rel == "" {
		return root
	}
	return filepath.Join(root, filepath.FromSlash(rel))
}

// resolveInside resolves rel (slash-separated, relative to root) the way the
// kernel would, following symlinks found on disk, but refuses to leave root:
// through "..", through an absolute symlink target, or through a relative
// one that climbs too high. Components that do not exist are taken as
// written. It returns the resolved path relative to root ("" for root).
//
// If followLast is false a symlink as the last component is not followed.
func resolveInside(root, rel string, followLast bool) (string, error) {
	var resolved []string
	pending := splitPath(rel)
	follows := 0
	for len(pending) > 0 {
		comp := pending[0]
		pending = pending[1:]
		switch comp {
		case "", ".":
			continue
		case "..":
			if len(resolved) == 0 {
				return "", fmt.Errorf("%q %w", rel, errEscapes)
			}
			resolved = resolved[:len(resolved)-1]
			continue
		}
		resolved = append(resolved, comp)
		if len(pending) == 0 && !followLast {
			break
		}
		p := within(root, strings.Join(resolved, "/"))
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		follows++
		if follows > maxSymlinkFollows {
			return "", fmt.Errorf("%q: too many levels of symbolic links", rel)
		}
		target, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			return "", fmt.Errorf("%q: symlink %s points to the absolute path %q and %w", rel, strings.Join(resolved, "/"), target, errEscapes)
		}
		resolved = resolved[:len(resolved)-1]
		pending = append(splitPath(target), pending...)
	}
	return strings.Join(resolved, "/"), nil
}

// joinRel joins relative paths without cleaning them: "l/.." must stay
// for resolveInside to see, since l may be a symlink.
func joinRel(dir, p string) string {
	switch {
	case dir == "" || dir == ".":
		return p
	case p == "":
		return dir
	}
	return dir + "/" + p
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// symlinkStaysInside checks a symlink found at linkRel (relative to root)
// with the given target: absolute targets are refused unless allowed, and a
// relative target must resolve inside root.
func symlinkStaysInside(root, linkRel, target string, allowAbsolute bool) error {
	if target == "" {
		return fmt.Errorf("symlink %q has an empty target", linkRel)
	}
	if path.IsAbs(target) {
		if allowAbsolute {
			return nil
		}
		return fmt.Errorf("symlink %q points to the absolute path %q, and absolute symlinks are not allowed", linkRel, target)
	}
	if _, err := resolveInside(root, joinRel(path.Dir(linkRel), target), true); err != nil {
		return fmt.Errorf("symlink %q -> %q: %w", linkRel, target, err)
	}
	return nil
}

// mkdirAllInside creates the directory rel and its parents under root with
// mode 0755, following only symlinks that stay inside root. It fails if a
// component exists and is not a directory.
func mkdirAllInside(root, rel string) error {
	resolved, err := resolveInside(root, rel, true)
	if err != nil {
		return err
	}
	cur := root
	for _, comp := range splitPath(resolved) {
		cur = filepath.Join(cur, comp)
		fi, err := os.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(cur, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
		case err != nil:
			return err
		case !fi.IsDir():
			// resolveInside followed every symlink, so this is a file.
			return fmt.Errorf("%q exists and is not a directory", rel)
		}
	}
	return nil
}
