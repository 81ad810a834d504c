package main

import (
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/kilnbuild/kiln/internal/config"
)

// Which isolations a worker offers: never process unless asked for, since
// any client could then skip the sandbox.
func TestRunnersOfferedByConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tweak func(*config.WorkerConfig)
		want  []string
	}{
		{"default", func(*config.WorkerConfig) {}, []string{"sandbox"}},
		{"process as the runner", func(w *config.WorkerConfig) { w.Runner = config.RunnerProcess }, []string{"process", "sandbox"}},
		{"process allowed", func(w *config.WorkerConfig) { w.AllowProcess = true }, []string{"process", "sandbox"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default().Worker
			cfg.Sandbox.Ready = 0
			tc.tweak(&cfg)
			runners, err := newRunners(cfg, nil, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Skipf("no sandbox here: %v", err)
			}
			defer runners.Close()
			if got := runners.Names(); !slices.Equal(got, tc.want) {
				t.Errorf("offered %v, want %v", got, tc.want)
			}
			if runners.Default() != cfg.Runner {
				t.Errorf("default %q, want %q", runners.Default(), cfg.Runner)
			}
		})
	}
}

func TestSandboxWorkerOffersLimitsAndNetworkWhenAllowed(t *testing.T) {
	cfg := config.Default().Worker
	cfg.Sandbox.Ready = 0
	cfg.Sandbox.CgroupParent = "" // no cgroups: memory and cpu are not offered
	runners, err := newRunners(cfg, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Skipf("no sandbox here: %v", err)
	}
	defer runners.Close()
	if got := sandboxPlatform(runners.byName).String(); got != "pids=*" {
		t.Errorf("offers %s, want pids=* alone", got)
	}
	cfg.Sandbox.AllowNetwork = true
	withNet, err := newRunners(cfg, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer withNet.Close()
	got := describePlatform(workerPlatform(sandboxPlatform(withNet.byName), withNet.Names()))
	for _, want := range []string{"isolation=sandbox", "network=on", "pids=*"} {
		if !strings.Contains(got, want) {
			t.Errorf("the worker offers %s, without %s", got, want)
		}
	}
}
