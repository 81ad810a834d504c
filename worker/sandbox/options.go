package sandbox

import (
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

// DefaultID is the host uid and gid of actions when the worker is root:
// nobody and nogroup.
const DefaultID = 65534

// DefaultPids bounds the processes and threads of an action when the
// worker's configuration does not.
const DefaultPids = 4096

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
		return Options{}, fmt.Errorf("sandbox uid %d / gid %d: ids must be positive", o.UID, o.GID)
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
		return fmt.Errorf("read-only path %q is not absolute", p)
	}
	clean := filepath.Clean(p)
	for _, r := range reservedPaths {
		if clean == r || r != "/" && strings.HasPrefix(clean, r+"/") {
			return fmt.Errorf("read-only path %q: %s is the sandbox's own", p, r)
		}
	}
	return nil
}

// under reports whether p is dir or below it.
func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}
