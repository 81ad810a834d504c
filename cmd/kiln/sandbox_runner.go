package main

import (
	"fmt"
	"log/slog"
	"math"

	"github.com/kilnbuild/kiln/internal/config"
	"github.com/kilnbuild/kiln/worker"
	"github.com/kilnbuild/kiln/worker/cgroup"
	"github.com/kilnbuild/kiln/worker/sandbox"
)

// newSandboxRunner builds the sandbox runner from the worker section. It
// fails when this host cannot build sandboxes; the error says how to run
// without one.
func newSandboxRunner(cfg config.WorkerConfig, ready int, logger *slog.Logger) (*sandbox.Runner, error) {
	s := cfg.Sandbox
	r, err := sandbox.New(sandbox.Options{
		ReadOnlyPaths: s.ReadOnlyPaths,
		AllowNetwork:  s.AllowNetwork,
		UID:           s.UID,
		GID:           s.GID,
		DefaultLimits: sandboxLimits(s.Limits),
		MaxLimits:     sandboxLimits(s.MaxLimits),
		CgroupParent:  s.CgroupParent,
		Ready:         ready,
		Logger:        logger.With("component", "sandbox"),
	})
	if err != nil {
		return nil, fmt.Errorf("%w (worker.runner: process, or --runner=process, runs actions without isolation)", err)
	}
	return r, nil
}

func sandboxLimits(l config.SandboxLimits) cgroup.Limits {
	return cgroup.Limits{
		MemoryBytes: l.Memory.Bytes(),
		CPUMillis:   int64(math.Round(l.CPU * 1000)),
		Pids:        l.Pids,
	}
}

// sandboxPlatform is what the sandbox adds to what a worker offers, when
// the worker offers it: the limits it enforces (with any value), and
// network=on when its actions may have the host's network.
func sandboxPlatform(offered map[string]worker.Runner) config.Platform {
	if sb, ok := offered[config.RunnerSandbox].(*sandbox.Runner); ok {
		return sb.Platform()
	}
	return nil
}
