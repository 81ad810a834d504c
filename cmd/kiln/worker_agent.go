package main

import (
	"cmp"
	"errors"
	"fmt"
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
	unlock   func() error
}

// newWorkerAgent builds one agent with cfg.Worker.Concurrency slots. It
// locks the worker's data directory first: the agent wipes the action
// directories there at start, which would pull the floor from under
// another agent running on it.
func newWorkerAgent(cfg config.Config, stores agentStores, logger *slog.Logger, reg prometheus.Registerer) (*workerAgent, error) {
	runner, err := newRunners(cfg.Worker)
	if err != nil {
		return nil, err
	}
	dir := cfg.WorkerDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("worker.data_dir: %w", err)
	}
	unlock, err := lockWorkerDir(dir)
	if err != nil {
		return nil, fmt.Errorf("worker.data_dir: %w", err)
	}
	platform := workerPlatform(cfg.Worker.Platform, runner.Names())
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
		return nil, errors.Join(err, unlock())
	}
	return &workerAgent{Agent: agent, platform: platform, unlock: unlock}, nil
}

// Close releases the data directory; call it after Run returned.
func (a *workerAgent) Close() error { return a.unlock() }

// newRunners builds the runners a worker offers, one per isolation; actions
// choose among them with the `isolation` platform property, and those that
// don't get worker.runner.
func newRunners(cfg config.WorkerConfig) (*worker.Isolations, error) {
	runners := map[string]worker.Runner{
		config.RunnerProcess: worker.NewProcessRunner(),
	}
	if _, ok := runners[cfg.Runner]; !ok {
		return nil, fmt.Errorf("worker.runner: unknown runner %q", cfg.Runner)
	}
	return worker.NewIsolations(runners, cfg.Runner)
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
