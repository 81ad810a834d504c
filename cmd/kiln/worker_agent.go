package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/config"
	workerpb "github.com/kilnbuild/kiln/proto/kiln/worker/v1"
	"github.com/kilnbuild/kiln/worker"
)

// agentStores are where an agent's data goes: in `kiln up` the server's own
// stores (no gRPC hop), in `kiln worker` remote services.
type agentStores struct {
	gateway workerpb.WorkerGatewayClient
	blobs   cas.BlobStore
	results worker.ActionCacheWriter
}

// workerAgent is a worker.Agent holding the lock on its data directory.
type workerAgent struct {
	*worker.Agent
	platform []*workerpb.Property
	runners  *runnerSet
	unlock   func() error
}

// newWorkerAgent builds one agent with cfg.Worker.Concurrency slots. It
// locks the worker's data directory first: the agent wipes the action
// directories there at start, which would pull the floor from under
// another agent running on it.
func newWorkerAgent(cfg config.Config, stores agentStores, logger *slog.Logger, reg prometheus.Registerer) (*workerAgent, error) {
	runner, err := newRunners(cfg.Worker, optionalRunners(cfg, logger), logger)
	if err != nil {
		return nil, err
	}
	dir := cfg.WorkerDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, errors.Join(fmt.Errorf("worker.data_dir: %w", err), runner.Close())
	}
	unlock, err := lockWorkerDir(dir)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("worker.data_dir: %w", err), runner.Close())
	}
	extra := append(slices.Clone(cfg.Worker.Platform), sandboxPlatform(runner.byName)...)
	platform := workerPlatform(extra, runner.Names())
	agent, err := worker.New(worker.Options{
		Gateway:               stores.gateway,
		CAS:                   stores.blobs,
		ActionCache:           stores.results,
		Runner:                runner,
		DataDir:               dir,
		Concurrency:           cfg.Worker.Concurrency,
		Platform:              platform,
		FileCacheMaxBytes:     cfg.Worker.FileCacheMaxSize.Bytes(),
		AllowAbsoluteSymlinks: workersAllowAbsoluteSymlinks,
		Logger:                logger.With("component", "worker"),
		Registerer:            reg,
	})
	if err != nil {
		return nil, errors.Join(err, runner.Close(), unlock())
	}
	return &workerAgent{Agent: agent, platform: platform, runners: runner, unlock: unlock}, nil
}

// Close ends the runners' idle resources (sandboxes kept ready) and
// releases the data directory; call it after Run returned.
func (a *workerAgent) Close() error { return errors.Join(a.runners.Close(), a.unlock()) }

// runnerSet is the runners a worker offers, by isolation.
type runnerSet struct {
	*worker.Isolations
	byName map[string]worker.Runner
}

// Close releases what the runners hold between actions.
func (s *runnerSet) Close() error {
	var errs []error
	for _, r := range s.byName {
		if c, ok := r.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// optionalRunners are the strong isolations a worker offers where this
// host has what they need (a guest image for microvm, runsc for gvisor).
func optionalRunners(cfg config.Config, logger *slog.Logger) map[string]worker.Runner {
	runners := map[string]worker.Runner{}
	if r := newMicroVMRunner(cfg.WorkerDir(), logger); r != nil {
		runners[microVMIsolation] = r
	}
	if r := newGVisorRunner(cfg, logger); r != nil {
		runners[gVisorIsolation] = r
	}
	return runners
}

// newRunners builds the runners a worker offers, one per isolation; actions
// choose among them with the `isolation` platform property, and those that
// don't get worker.runner.
//
// The sandbox is offered whenever this host can build one, and must be
// able to when it is the runner. The process runner isolates nothing, and
// any client could ask for it: it is offered only when it is the runner or
// worker.allow_process says so.
func newRunners(cfg config.WorkerConfig, optional map[string]worker.Runner, logger *slog.Logger) (*runnerSet, error) {
	runners := map[string]worker.Runner{}
	if cfg.Runner == config.RunnerProcess || cfg.AllowProcess {
		runners[config.RunnerProcess] = worker.NewProcessRunner()
	}
	ready := 0 // sandboxes kept ready only for the default isolation
	if cfg.Runner == config.RunnerSandbox {
		ready = cfg.Sandbox.Ready
	}
	if sb, err := newSandboxRunner(cfg, ready, logger); err == nil {
		runners[config.RunnerSandbox] = sb
	} else if cfg.Runner == config.RunnerSandbox {
		return nil, fmt.Errorf("worker.runner: %w", err)
	} else {
		logger.Info("isolation=sandbox not offered", "err", err)
	}
	for name, r := range optional {
		runners[name] = r
	}
	set := &runnerSet{byName: runners}
	if _, ok := runners[cfg.Runner]; !ok {
		return nil, errors.Join(fmt.Errorf("worker.runner: unknown runner %q", cfg.Runner), set.Close())
	}
	isolations, err := worker.NewIsolations(runners, cfg.Runner)
	if err != nil {
		return nil, errors.Join(err, set.Close())
	}
	set.Isolations = isolations
	return set, nil
}

// workerPlatform is what a worker offers: the host's detected properties
// (OSFamily, ISA), where extra does not name them, plus extra, plus one
// `isolation` property per isolation it offers; sorted by name, then value,
// without duplicates.
func workerPlatform(extra config.Platform, isolations []string) []*workerpb.Property {
	named := make(map[string]bool, len(extra))
	for _, p := range extra {
		named[p.Name] = true
	}
	var props []*workerpb.Property
	for _, p := range worker.DefaultPlatform() {
		if !named[p.GetName()] {
			props = append(props, p)
		}
	}
	for _, p := range extra {
		props = append(props, &workerpb.Property{Name: p.Name, Value: p.Value})
	}
	for _, iso := range isolations {
		props = append(props, &workerpb.Property{Name: worker.IsolationProperty, Value: iso})
	}
	compare := func(a, b *workerpb.Property) int {
		return cmp.Or(strings.Compare(a.GetName(), b.GetName()), strings.Compare(a.GetValue(), b.GetValue()))
	}
	slices.SortFunc(props, compare)
	return slices.CompactFunc(props, func(a, b *workerpb.Property) bool { return compare(a, b) == 0 })
}

// describePlatform shows properties for people: "ISA=x86-64, OSFamily=linux".
func describePlatform(props []*workerpb.Property) string {
	s := make([]string, len(props))
	for i, p := range props {
		s[i] = p.GetName() + "=" + p.GetValue()
	}
	return strings.Join(s, ", ")
}
