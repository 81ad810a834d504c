package sandbox

import (
	"fmt"
	"log/slog"

	"github.com/kilnbuild/kiln/worker/isolationpolicy"

	"github.com/kilnbuild/kiln/worker/cgroup"
)

// The defaults of Options, shared with the other isolating runners.
var DefaultReadOnlyPaths = isolationpolicy.DefaultReadOnlyPaths

const (
	DefaultID   = isolationpolicy.DefaultID
	DefaultPids = isolationpolicy.DefaultPids
)

// Options configure a Runner.
type Options struct {
	// ReadOnlyPaths are the host paths visible read-only, at the same
	// place; nil means DefaultReadOnlyPaths. They must be absolute, and
	// not /, /proc, /dev or /tmp, which the sandbox makes itself.
	ReadOnlyPaths []string
	// AllowNetwork lets actions ask for the host's network with the
	// platform property network=on; without it they are refused.
	AllowNetwork bool
	// UID and GID are the host ids actions run as when the worker is
	// root; 0 means DefaultID (root itself is never used).
	UID, GID int
	// DefaultLimits apply to actions that ask for none, MaxLimits bound
	// what they may ask for (cgroup.LimitsFromPlatform); zero is no
	// limit. A zero DefaultLimits.Pids means DefaultPids.
	DefaultLimits, MaxLimits cgroup.Limits
	// CgroupParent is the cgroup under which each action gets its own
	// (relative to the worker's cgroup, or absolute); empty, or a host
	// where cgroups cannot be used, enforces only the process count.
	CgroupParent string
	// Ready is how many sandboxes are kept prepared ahead of actions
	// (without network); 0 prepares each when its action comes. Each
	// holds an idle init process (some MiB of memory).
	Ready int
	// Logger says what the sandbox cannot do on this host; nil is
	// slog.Default().
	Logger *slog.Logger
}

// withDefaults checks o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	var err error
	if o.ReadOnlyPaths, err = isolationpolicy.ReadOnlyPaths(o.ReadOnlyPaths); err != nil {
		return Options{}, fmt.Errorf("sandbox: %w", err)
	}
	if o.UID, o.GID, err = isolationpolicy.IDs(o.UID, o.GID); err != nil {
		return Options{}, fmt.Errorf("sandbox: %w", err)
	}
	if o.DefaultLimits.Pids == 0 {
		o.DefaultLimits.Pids = DefaultPids
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}
