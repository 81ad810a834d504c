package gvisor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kilnbuild/kiln/worker"
)

// resolveExecutable finds the file arguments[0] names, as the action will
// see it (the same paths as the host's, for what is visible): relative to
// the working directory if it has a slash, else through the action's PATH,
// or fallbackPath when it sets none (checklist item 36). visible says
// whether a path is inside the sandbox at all.
func resolveExecutable(arg0, workDir string, env []string, fallbackPath string, visible func(string) bool) (string, error) {
	if arg0 == "" {
		return "", fmt.Errorf("%w: arguments[0] is empty", worker.ErrCommandNotFound)
	}
	if strings.Contains(arg0, "/") {
		p := arg0
		if !filepath.IsAbs(p) {
			p = filepath.Join(workDir, p)
		}
		if !visible(p) || !isExecutableFile(p) {
			return "", fmt.Errorf("%w: %q (resolved to %s) is not an executable file in the sandbox", worker.ErrCommandNotFound, arg0, p)
		}
		return p, nil
	}
	pathEnv, ok := lookupEnv(env, "PATH")
	if !ok {
		pathEnv = fallbackPath
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(workDir, dir)
		}
		if p := filepath.Join(dir, arg0); visible(p) && isExecutableFile(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %q is in no directory of PATH=%q in the sandbox", worker.ErrCommandNotFound, arg0, pathEnv)
}

func isExecutableFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// lookupEnv returns the last value of name in env, as execve would.
func lookupEnv(env []string, name string) (string, bool) {
	val, found := "", false
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			val, found = v, true
		}
	}
	return val, found
}
