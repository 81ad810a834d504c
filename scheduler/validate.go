package scheduler

import (
	"strings"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/internal/digest"
)

// The checks here are the cheap ones of REAPI's canonical form (checklist
// item 4): a client that sends non-canonical input would get results keyed
// by digests no other client computes, so it is told at once. What needs
// a file system (symlink escapes, working directory existence) is the
// worker's to check.

// actionTimeout returns the timeout of a, defaulted and checked against the
// server's maximum (checklist item 33).
func actionTimeout(a *repb.Action, def, limit time.Duration) (time.Duration, error) {
	t := a.GetTimeout()
	if t == nil {
		return def, nil
	}
	if err := t.CheckValid(); err != nil {
		return 0, invalidf("action timeout: %v", err)
	}
	d := t.AsDuration()
	switch {
	case d < 0:
		return 0, invalidf("action timeout %v is negative", d)
	case d == 0:
		return def, nil
	case d > limit:
		return 0, invalidf("action timeout %v exceeds the server's maximum of %v", d, limit)
	}
	return d, nil
}

// validateCommand checks what a scheduler can check of a Command without
// running it.
func validateCommand(c *repb.Command) error {
	if len(c.GetArguments()) == 0 || c.GetArguments()[0] == "" {
		return invalidf("command has no arguments (arguments[0] must name the program)")
	}
	envs := c.GetEnvironmentVariables()
	for i, e := range envs {
		if e.GetName() == "" {
			return invalidf("command environment variable %d has an empty name", i)
		}
		if i > 0 && e.GetName() <= envs[i-1].GetName() {
			return invalidf("command environment variables must be sorted by name and unique: %q comes after %q", e.GetName(), envs[i-1].GetName())
		}
	}
	for _, list := range []struct {
		field string
		paths []string
	}{
		{"output_paths", c.GetOutputPaths()},
		{"output_files", c.GetOutputFiles()},
		{"output_directories", c.GetOutputDirectories()},
	} {
		if err := validatePathList(list.field, list.paths); err != nil {
			return err
		}
	}
	if wd := c.GetWorkingDirectory(); wd != "" {
		if err := validateRelativePath(wd); err != nil {
			return invalidf("command working_directory %q: %v", wd, err)
		}
	}
	if _, err := platformFromProto(c.GetPlatform(), "command platform"); err != nil {
		return err
	}
	return nil
}

// validatePathList checks an output path list: relative paths, sorted and
// unique as REAPI requires.
func validatePathList(field string, paths []string) error {
	for i, p := range paths {
		if err := validateRelativePath(p); err != nil {
			return invalidf("command %s: %q %v", field, p, err)
		}
		if i > 0 && p <= paths[i-1] {
			return invalidf("command %s must be sorted and unique: %q comes after %q", field, p, paths[i-1])
		}
	}
	return nil
}

func validateRelativePath(p string) error {
	switch {
	case p == "":
		return invalidf("is empty")
	case strings.HasPrefix(p, "/"):
		return invalidf("is absolute; it must be relative")
	case strings.HasSuffix(p, "/"):
		return invalidf("ends with a slash")
	case strings.Contains(p, "//"):
		return invalidf("has an empty path segment")
	}
	return nil
}

// directoryChildren validates a Directory message and returns the digests
// it refers to.
func directoryChildren(d *repb.Directory, fn digest.Function, self digest.Digest) (files, dirs []digest.Digest, err error) {
	bad := func(format string, args ...any) error {
		return invalidf("input directory %s: "+format, append([]any{self}, args...)...)
	}
	var prev string
	for i, f := range d.GetFiles() {
		if err := validateName(f.GetName(), prev, i); err != nil {
			return nil, nil, bad("file %v", err)
		}
		prev = f.GetName()
		fd, err := digest.FromProto(fn, f.GetDigest())
		if err != nil {
			return nil, nil, bad("file %q: %v", f.GetName(), err)
		}
		files = append(files, fd)
	}
	prev = ""
	for i, c := range d.GetDirectories() {
		if err := validateName(c.GetName(), prev, i); err != nil {
			return nil, nil, bad("directory %v", err)
		}
		prev = c.GetName()
		cd, err := digest.FromProto(fn, c.GetDigest())
		if err != nil {
			return nil, nil, bad("directory %q: %v", c.GetName(), err)
		}
		dirs = append(dirs, cd)
	}
	prev = ""
	for i, l := range d.GetSymlinks() {
		if err := validateName(l.GetName(), prev, i); err != nil {
			return nil, nil, bad("symlink %v", err)
		}
		prev = l.GetName()
		if l.GetTarget() == "" {
			return nil, nil, bad("symlink %q has an empty target", l.GetName())
		}
	}
	return files, dirs, nil
}

// validateName checks one child name: a single path segment, sorted after
// the previous one of its list.
func validateName(name, prev string, i int) error {
	switch {
	case name == "":
		return invalidf("%d has an empty name", i)
	case name == "." || name == "..":
		return invalidf("name %q is not allowed", name)
	case strings.ContainsAny(name, "/\x00"):
		return invalidf("name %q must be one path segment", name)
	case i > 0 && name <= prev:
		return invalidf("names must be sorted and unique: %q comes after %q", name, prev)
	}
	return nil
}
