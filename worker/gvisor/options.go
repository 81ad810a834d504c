package gvisor

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/kilnbuild/kiln/worker/isolationpolicy"

	"github.com/kilnbuild/kiln/worker/cgroup"
)

// The defaults of Options, shared with the sandbox runner.
var DefaultReadOnlyPaths = isolationpolicy.DefaultReadOnlyPaths

const (
	DefaultID   = isolationpolicy.DefaultID
	DefaultPids = isolationpolicy.DefaultPids
)

// DefaultPlatform is the gVisor platform: ptrace works everywhere, with
// no KVM and on any kernel, at the cost of slower system calls. "systrap"
// (newer runsc) and "kvm" are faster where available.
const DefaultPlatform = "ptrace"

// sandboxPids is added to an action's pids limit for gVisor's own host
// tasks (runsc, sentry and gofer threads), which share its cgroup.
const sandboxPids = 512

// Options configure a Runner.
type Options struct {
	// Runsc is the runsc binary; empty looks "runsc" up in PATH.
	Runsc string
	// StateDir is a directory of the worker's own for runsc's state
	// (--root) and the actions' bundles. Required; one Runner per
	// directory.
	StateDir string
	// Platform is runsc's --platform; empty means DefaultPlatform.
	Platform string
	// ReadOnlyPaths are the host paths visible read-only, at the same
	// place; nil means DefaultReadOnlyPaths. They must be absolute, and
	// not /, /proc, /dev or /tmp, which the sandbox makes itself.
	ReadOnlyPaths []string
	// AllowNetwork lets actions ask for the host's network with the
	// platform property network=on; without it they are refused.
	AllowNetwork bool
	// UID and GID are the ids actions run as; 0 means DefaultID (root is
	// never used).
	UID, GID int
	// DefaultLimits apply to actions that ask for none, MaxLimits bound
	// what they may ask for (cgroup.LimitsFromPlatform); zero is no
	// limit. A zero DefaultLimits.Pids means DefaultPids.
	DefaultLimits, MaxLimits cgroup.Limits
	// CgroupParent is the cgroup under which each action gets its own,
	// in a "gvisor" child of its own (relative to the worker's cgroup, or
	// absolute); New removes what is left in that child. Empty, or a host
	// where cgroups cannot be used, enforces no limit: actions that ask
	// for one are refused.
	CgroupParent string
	// ExtraFlags are more runsc global flags, e.g. "--overlay2=root:memory".
	ExtraFlags []string
	// Logger says what the runner cannot do on this host; nil is
	// slog.Default().
	Logger *slog.Logger
}

// withDefaults checks o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	if o.StateDir == "" {
		return Options{}, errors.New("gvisor: a state directory is required")
	}
	if !filepath.IsAbs(o.StateDir) {
		abs, err := filepath.Abs(o.StateDir)
		if err != nil {
			return Options{}, fmt.Errorf("gvisor: state directory: %w", err)
		}
		o.StateDir = abs
	}
	if o.Platform == "" {
		o.Platform = DefaultPlatform
	}
	var err error
	if o.ReadOnlyPaths, err = isolationpolicy.ReadOnlyPaths(o.ReadOnlyPaths); err != nil {
		return Options{}, fmt.Errorf("gvisor: %w", err)
	}
	if o.UID, o.GID, err = isolationpolicy.IDs(o.UID, o.GID); err != nil {
		return Options{}, fmt.Errorf("gvisor: %w", err)
	}
	if o.DefaultLimits.Pids == 0 {
		o.DefaultLimits.Pids = DefaultPids
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}
