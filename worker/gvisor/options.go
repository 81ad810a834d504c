package gvisor

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kilnbuild/kiln/worker/cgroup"
)

// DefaultReadOnlyPaths are the host paths an action sees, read-only: the
// toolchain of a Debian-like host. Those a host lacks are skipped.
var DefaultReadOnlyPaths = []string{"/bin", "/etc", "/lib", "/lib32", "/lib64", "/sbin", "/usr"}

// DefaultPlatform is the gVisor platform: ptrace works everywhere, with
// no KVM and on any kernel, at the cost of slower system calls. "systrap"
// (newer runsc) and "kvm" are faster where available.
const DefaultPlatform = "ptrace"

// DefaultID is the uid and gid actions run as inside gVisor: nobody.
const DefaultID = 65534

// DefaultPids bounds the processes and threads of an action when the
// worker's configuration does not.
const DefaultPids = 4096

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
	if o.ReadOnlyPaths == nil {
		o.ReadOnlyPaths = DefaultReadOnlyPaths
	}
	paths := make([]string, 0, len(o.ReadOnlyPaths))
	for _, p := range o.ReadOnlyPaths {
		if err := checkReadOnlyPath(p); err != nil {
			return Options{}, err
		}
		paths = append(paths, filepath.Clean(p))
	}
	// Parents before children: /usr before /usr/local.
	slices.Sort(paths)
	o.ReadOnlyPaths = slices.Compact(paths)
	if o.UID == 0 {
		o.UID = DefaultID
	}
	if o.GID == 0 {
		o.GID = DefaultID
	}
	if o.UID < 0 || o.GID < 0 {
		return Options{}, fmt.Errorf("gvisor: uid %d / gid %d: ids must be positive", o.UID, o.GID)
	}
	if o.DefaultLimits.Pids == 0 {
		o.DefaultLimits.Pids = DefaultPids
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// reservedPaths are made by the sandbox itself.
var reservedPaths = []string{"/", "/dev", "/proc", "/tmp"}

func checkReadOnlyPath(p string) error {
	if !filepath.IsAbs(p) {
		return fmt.Errorf("gvisor: read-only path %q is not absolute", p)
	}
	clean := filepath.Clean(p)
	for _, r := range reservedPaths {
		if clean == r || r != "/" && strings.HasPrefix(clean, r+"/") {
			return fmt.Errorf("gvisor: read-only path %q: %s is the sandbox's own", p, r)
		}
	}
	return nil
}

// under reports whether p is dir or below it.
func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}
