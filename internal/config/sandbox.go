package config

import (
	"fmt"
	"path/filepath"
)

// SandboxConfig is about the sandbox runner: what of the host an action
// sees, as whom it runs, its network and its limits.
type SandboxConfig struct {
	// ReadOnlyPaths are the host paths (the toolchain) actions see,
	// read-only, at the same place; those a host lacks are skipped.
	ReadOnlyPaths []string `yaml:"read_only_paths"`
	// AllowNetwork lets actions that ask with the platform property
	// network=on use the host's network; the worker then offers
	// network=on. Other actions have a loopback of their own.
	AllowNetwork bool `yaml:"allow_network"`
	// UID and GID are the host ids actions run as when the worker runs as
	// root (default nobody, nogroup).
	UID int `yaml:"uid"`
	GID int `yaml:"gid"`
	// Ready is how many sandboxes are kept prepared ahead of actions, so
	// that an action does not wait for one to be built.
	Ready int `yaml:"ready"`
	// CgroupParent is the cgroup, relative to the worker's own (or
	// absolute), under which each action gets a cgroup with its limits;
	// empty enforces only the process count.
	CgroupParent string `yaml:"cgroup_parent"`
	// Limits bound actions that ask for no limit with the platform
	// properties memory, cpu and pids; MaxLimits bound what they may ask
	// for. Zero is no limit.
	Limits    SandboxLimits `yaml:"limits"`
	MaxLimits SandboxLimits `yaml:"max_limits"`
}

// SandboxLimits are resource limits of one action.
type SandboxLimits struct {
	// Memory bounds memory (and swap).
	Memory ByteSize `yaml:"memory"`
	// CPU is a quota in cores, e.g. 2 or 0.5.
	CPU float64 `yaml:"cpu"`
	// Pids bounds processes and threads.
	Pids int64 `yaml:"pids"`
}

// Sandbox defaults.
const (
	DefaultSandboxID           = 65534 // nobody, nogroup
	DefaultSandboxReady        = 2
	DefaultSandboxCgroupParent = "kiln-sandbox"
	DefaultSandboxPids         = 4096
)

// DefaultReadOnlyPaths are the toolchain of a Debian-like host.
var DefaultReadOnlyPaths = []string{"/bin", "/etc", "/lib", "/lib32", "/lib64", "/sbin", "/usr"}

func defaultSandbox() SandboxConfig {
	return SandboxConfig{
		ReadOnlyPaths: append([]string(nil), DefaultReadOnlyPaths...),
		UID:           DefaultSandboxID,
		GID:           DefaultSandboxID,
		Ready:         DefaultSandboxReady,
		CgroupParent:  DefaultSandboxCgroupParent,
		Limits:        SandboxLimits{Pids: DefaultSandboxPids},
	}
}

func (s SandboxConfig) validate() []error {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("worker.sandbox.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	for _, p := range s.ReadOnlyPaths {
		clean := filepath.Clean(p)
		switch {
		case !filepath.IsAbs(p):
			fail("read_only_paths", "%q is not an absolute path", p)
		case clean == "/" || clean == "/proc" || clean == "/dev" || clean == "/tmp" ||
			isUnder(clean, "/proc") || isUnder(clean, "/dev") || isUnder(clean, "/tmp"):
			fail("read_only_paths", "%q: the sandbox makes /, /proc, /dev and /tmp itself", p)
		}
	}
	if s.UID <= 0 || s.GID <= 0 {
		fail("uid", "uid %d and gid %d must be positive: actions never run as root", s.UID, s.GID)
	}
	if s.Ready < 0 {
		fail("ready", "must not be negative, is %d", s.Ready)
	}
	for _, l := range []struct {
		field string
		l     SandboxLimits
	}{{"limits", s.Limits}, {"max_limits", s.MaxLimits}} {
		if l.l.Memory < 0 || l.l.CPU < 0 || l.l.Pids < 0 {
			fail(l.field, "limits must not be negative: %+v", l.l)
		}
	}
	return errs
}

// isUnder reports whether p is strictly below dir.
func isUnder(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && filepath.IsLocal(rel)
}
