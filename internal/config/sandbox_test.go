package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestSandboxSectionLoadsAndDefaults(t *testing.T) {
	d := Default().Worker
	if d.Runner != RunnerSandbox || d.AllowProcess || d.Sandbox.AllowNetwork {
		t.Errorf("defaults: runner %q, allow_process %v, allow_network %v; want sandbox, no process, no network",
			d.Runner, d.AllowProcess, d.Sandbox.AllowNetwork)
	}
	if d.Sandbox.UID != 65534 || d.Sandbox.Limits.Pids != DefaultSandboxPids || !reflect.DeepEqual(d.Sandbox.ReadOnlyPaths, DefaultReadOnlyPaths) {
		t.Errorf("default sandbox %+v", d.Sandbox)
	}
	cfg, err := Load(writeFile(t, `
worker:
  runner: sandbox
  allow_process: true
  sandbox:
    read_only_paths: [/usr, /etc, /opt/toolchain]
    allow_network: true
    uid: 1500
    gid: 1600
    ready: 0
    cgroup_parent: ""
    limits: {memory: 2GiB, cpu: 1.5, pids: 512}
    max_limits: {memory: 8GiB, cpu: 4, pids: 4096}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := SandboxConfig{
		ReadOnlyPaths: []string{"/usr", "/etc", "/opt/toolchain"}, AllowNetwork: true, UID: 1500, GID: 1600,
		Limits:    SandboxLimits{Memory: 2 * GiB, CPU: 1.5, Pids: 512},
		MaxLimits: SandboxLimits{Memory: 8 * GiB, CPU: 4, Pids: 4096},
	}
	if !reflect.DeepEqual(cfg.Worker.Sandbox, want) || !cfg.Worker.AllowProcess {
		t.Errorf("sandbox section %+v, allow_process %v\nwant %+v", cfg.Worker.Sandbox, cfg.Worker.AllowProcess, want)
	}
	// Keys left out keep their defaults.
	cfg, err = Load(writeFile(t, "worker:\n  sandbox:\n    allow_network: true\n"))
	if err != nil || cfg.Worker.Sandbox.Ready != DefaultSandboxReady || cfg.Worker.Sandbox.UID != DefaultSandboxID {
		t.Errorf("a partial sandbox section: %+v, %v", cfg.Worker.Sandbox, err)
	}
}

func TestSandboxSectionMistakesAreNamed(t *testing.T) {
	for _, tc := range []struct {
		yaml, want string
	}{
		{"worker:\n  runner: chroot\n", `worker.runner: "chroot" is not one of sandbox, process`},
		{"worker:\n  sandbox:\n    read_only_paths: [usr]\n", "worker.sandbox.read_only_paths: \"usr\" is not an absolute path"},
		{"worker:\n  sandbox:\n    read_only_paths: [/]\n", "worker.sandbox.read_only_paths: \"/\""},
		{"worker:\n  sandbox:\n    read_only_paths: [/tmp/tools]\n", "worker.sandbox.read_only_paths: \"/tmp/tools\""},
		{"worker:\n  sandbox:\n    uid: 0\n", "worker.sandbox.uid: uid 0"},
		{"worker:\n  sandbox:\n    ready: -1\n", "worker.sandbox.ready:"},
		{"worker:\n  sandbox:\n    limits: {pids: -5}\n", "worker.sandbox.limits:"},
		{"worker:\n  sandbox:\n    network: on\n", `unknown key "worker.sandbox.network"`},
	} {
		_, err := Load(writeFile(t, tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%q): %v; want an error saying %q", tc.yaml, err, tc.want)
		}
	}
}
