package actioncache

import (
	"errors"
	"fmt"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/internal/digest"
)

// validateActionResult checks what a client asks to store, so that nothing
// malformed reaches the cache (checklist item 23). Every error it returns
// is the client's mistake. Any exit code is accepted: the proto gives int32
// no constraint, and a negative one is how some platforms report a signal.
func validateActionResult(fn digest.Function, r *repb.ActionResult) error {
	if r == nil {
		return errors.New("action_result is missing")
	}
	paths := make(map[string]string) // output path -> kind, for duplicates
	claim := func(kind, path string) error {
		if other, ok := paths[path]; ok {
			return fmt.Errorf("%s %q: path is also listed as %s", kind, path, other)
		}
		paths[path] = kind
		return nil
	}
	for _, f := range r.GetOutputFiles() {
		if err := validateOutputPath(f.GetPath(), false); err != nil {
			return fmt.Errorf("output file %q: %w", f.GetPath(), err)
		}
		if _, err := digest.FromProto(fn, f.GetDigest()); err != nil {
			return fmt.Errorf("output file %q: %w", f.GetPath(), err)
		}
		if err := claim("output file", f.GetPath()); err != nil {
			return err
		}
	}
	for _, d := range r.GetOutputDirectories() {
		// The empty path is allowed: it names the whole working directory.
		if err := validateOutputPath(d.GetPath(), true); err != nil {
			return fmt.Errorf("output directory %q: %w", d.GetPath(), err)
		}
		if _, err := digest.FromProto(fn, d.GetTreeDigest()); err != nil {
			return fmt.Errorf("output directory %q: tree_digest: %w", d.GetPath(), err)
		}
		if d.GetRootDirectoryDigest() != nil {
			if _, err := digest.FromProto(fn, d.GetRootDirectoryDigest()); err != nil {
				return fmt.Errorf("output directory %q: root_directory_digest: %w", d.GetPath(), err)
			}
		}
		if err := claim("output directory", d.GetPath()); err != nil {
			return err
		}
	}
	// The v2.0 symlink lists and the v2.1 one may legitimately name the
	// same paths (servers fill both), so each list is checked on its own.
	for _, list := range []struct {
		kind     string
		symlinks []*repb.OutputSymlink
	}{
		{"output symlink", r.GetOutputSymlinks()},
		{"output file symlink", r.GetOutputFileSymlinks()},
		{"output directory symlink", r.GetOutputDirectorySymlinks()},
	} {
		seen := make(map[string]bool)
		for _, s := range list.symlinks {
			if err := validateOutputPath(s.GetPath(), false); err != nil {
				return fmt.Errorf("%s %q: %w", list.kind, s.GetPath(), err)
			}
			if seen[s.GetPath()] {
				return fmt.Errorf("%s %q: listed twice", list.kind, s.GetPath())
			}
			seen[s.GetPath()] = true
			if other, ok := paths[s.GetPath()]; ok {
				return fmt.Errorf("%s %q: path is also listed as %s", list.kind, s.GetPath(), other)
			}
			// Absolute targets and '..' are allowed by the API; the
			// server advertises SymlinkAbsolutePathStrategy ALLOWED.
			if s.GetTarget() == "" {
				return fmt.Errorf("%s %q: target is empty", list.kind, s.GetPath())
			}
			if strings.ContainsRune(s.GetTarget(), 0) {
				return fmt.Errorf("%s %q: target contains a NUL byte", list.kind, s.GetPath())
			}
		}
	}
	for _, std := range []struct {
		name string
		d    *repb.Digest
	}{{"stdout_digest", r.GetStdoutDigest()}, {"stderr_digest", r.GetStderrDigest()}} {
		if isUnsetDigest(std.d) {
			continue
		}
		if _, err := digest.FromProto(fn, std.d); err != nil {
			return fmt.Errorf("%s: %w", std.name, err)
		}
	}
	return nil
}

// validateOutputPath checks a path relative to the working directory:
// forward slashes, no leading or trailing slash, no empty, "." or ".."
// segment, so an output can never name something outside the directory.
func validateOutputPath(p string, allowEmpty bool) error {
	switch {
	case p == "" && allowEmpty:
		return nil
	case p == "":
		return errors.New("path is empty")
	case strings.HasPrefix(p, "/"):
		return errors.New("path is absolute; it must be relative to the working directory")
	case strings.ContainsRune(p, 0):
		return errors.New("path contains a NUL byte")
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "":
			return errors.New("path has an empty segment")
		case ".", "..":
			return fmt.Errorf("path has a %q segment", seg)
		}
	}
	return nil
}
