package gvisor

import (
	"fmt"

	"github.com/kilnbuild/kiln/internal/argv0"
	"github.com/kilnbuild/kiln/worker"
)

// resolveExecutable finds the file arguments[0] names, as the action will
// see it (checklist item 36); visible says whether a path is inside the
// sandbox at all.
func resolveExecutable(arg0, workDir string, env []string, fallbackPath string, visible func(string) bool) (string, error) {
	p, err := argv0.Resolve(arg0, workDir, env, fallbackPath, visible)
	if err != nil {
		return "", fmt.Errorf("%w: %w in the sandbox", worker.ErrCommandNotFound, err)
	}
	return p, nil
}
