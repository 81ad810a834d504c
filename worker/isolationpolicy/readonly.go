package isolationpolicy

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// DefaultReadOnlyPaths are the host paths an action sees, read-only: the
// toolchain of a Debian-like host. Those a host lacks are skipped.
var DefaultReadOnlyPaths = []string{"/bin", "/etc", "/lib", "/lib32", "/lib64", "/sbin", "/usr"}

// reservedPaths are made by the sandbox itself.
var reservedPaths = []string{"/", "/dev", "/proc", "/tmp"}

// ReadOnlyPaths checks paths and returns them clean, sorted (parents
// before children: /usr before /usr/local) and without repeats; nil
// means DefaultReadOnlyPaths. They must be absolute, and not /, /proc,
// /dev or /tmp, which the sandbox makes itself.
func ReadOnlyPaths(paths []string) ([]string, error) {
	if paths == nil {
		paths = DefaultReadOnlyPaths
	}
	clean := make([]string, 0, len(paths))
	for _, p := range paths {
		if err := checkReadOnlyPath(p); err != nil {
			return nil, err
		}
		clean = append(clean, filepath.Clean(p))
	}
	slices.Sort(clean)
	return slices.Compact(clean), nil
}

func checkReadOnlyPath(p string) error {
	if !filepath.IsAbs(p) {
		return fmt.Errorf("read-only path %q is not absolute", p)
	}
	clean := filepath.Clean(p)
	for _, r := range reservedPaths {
		if clean == r || r != "/" && strings.HasPrefix(clean, r+"/") {
			return fmt.Errorf("read-only path %q: %s is the sandbox's own", p, r)
		}
	}
	return nil
}

// Under reports whether p is dir or below it.
func Under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// CheckRootDir refuses an input root that a sandbox cannot mount where it
// is: not clean and absolute, overlapping a read-only path or one the
// sandbox makes (a worker data directory in the wrong place), or not
// holding the working directory.
func CheckRootDir(rootDir, workDir string, readOnlyPaths []string) error {
	if !filepath.IsAbs(rootDir) || filepath.Clean(rootDir) != rootDir {
		return fmt.Errorf("input root %q is not a clean absolute path", rootDir)
	}
	for _, p := range append([]string{"/dev", "/proc"}, readOnlyPaths...) {
		if Under(rootDir, p) || Under(p, rootDir) {
			return fmt.Errorf("input root %s overlaps %s, which the sandbox mounts itself; move the worker's data directory", rootDir, p)
		}
	}
	if !Under(workDir, rootDir) {
		return fmt.Errorf("working directory %s is outside the input root %s", workDir, rootDir)
	}
	return nil
}
