package main

import (
	"log/slog"
	"os/exec"
	"path/filepath"

	"github.com/kilnbuild/kiln/internal/config"
	"github.com/kilnbuild/kiln/worker"
	"github.com/kilnbuild/kiln/worker/gvisor"
)

// gVisorIsolation is the isolation name the gVisor runner is offered as.
const gVisorIsolation = "gvisor"

// newGVisorRunner is the worker's gVisor runner, or nil when this host has
// no working runsc: gVisor is an optional second strong isolation, offered
// where it is installed. It shares the sandbox's settings (toolchain
// paths, network, limits), so an action gets the same view either way.
func newGVisorRunner(cfg config.Config, logger *slog.Logger) worker.Runner {
	log := logger.With("component", "gvisor")
	if _, err := exec.LookPath("runsc"); err != nil {
		log.Debug("isolation=gvisor not offered: runsc is not installed")
		return nil
	}
	s := cfg.Worker.Sandbox
	r, err := gvisor.New(gvisor.Options{
		StateDir:      filepath.Join(cfg.WorkerDir(), "gvisor"),
		ReadOnlyPaths: s.ReadOnlyPaths,
		AllowNetwork:  s.AllowNetwork,
		DefaultLimits: sandboxLimits(s.Limits),
		MaxLimits:     sandboxLimits(s.MaxLimits),
		CgroupParent:  s.CgroupParent,
		Logger:        log,
	})
	if err != nil {
		log.Warn("isolation=gvisor not offered", "err", err)
		return nil
	}
	log.Info("isolation=gvisor offered")
	return r
}
