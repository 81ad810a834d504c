package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Mode is the cgroup layout of a host.
type Mode int

// The layouts Available tells apart.
const (
	// ModeNone: no usable cgroup file system.
	ModeNone Mode = iota
	// ModeV1: one hierarchy per controller, no cgroup2 mount.
	ModeV1
	// ModeV2: the unified hierarchy mounted at /sys/fs/cgroup holds the
	// controllers.
	ModeV2
	// ModeHybrid: v1 controller hierarchies plus a cgroup2 mount without
	// them; the v1 hierarchies are used.
	ModeHybrid
)

func (m Mode) String() string {
	switch m {
	case ModeV1:
		return "v1"
	case ModeV2:
		return "v2"
	case ModeHybrid:
		return "hybrid"
	default:
		return "none"
	}
}

// The v1 controllers a Group uses. memory, cpu and pids carry the limits;
// cpuacct reports CPU time and freezer lets Kill stop a forking process
// tree before killing it. The last two are optional.
var (
	v1Required = []string{"memory", "cpu", "pids"}
	v1Optional = []string{"cpuacct", "freezer"}
)

// layout is where the hierarchies are and where this process sits in each.
type layout struct {
	mode Mode
	// v2Mount is the cgroup2 mount point; v2Self is this process's cgroup
	// directory in it.
	v2Mount, v2Self string
	// v1Mount, v1Root and v1Self map a v1 controller to its hierarchy's
	// mount point, the hierarchy path mounted there and this process's
	// cgroup directory in it.
	v1Mount, v1Root, v1Self map[string]string
}

// Available reports the host's cgroup layout, and an error saying why
// limits cannot be applied here (no cgroup file system, a missing
// controller, no right to write) or nil when New can work. The mode is
// reported even with an error.
func Available() (Mode, error) {
	l, err := detect()
	if err != nil {
		return l.mode, err
	}
	return l.mode, l.usable()
}

// usable checks that the controllers are there and writable by us.
func (l layout) usable() error {
	switch l.mode {
	case ModeV2:
		have, err := readControllers(filepath.Join(l.v2Self, "cgroup.controllers"))
		if err != nil {
			return err
		}
		for _, c := range v1Required {
			if !have[c] {
				return fmt.Errorf("cgroup v2: the %s controller is not available in %s (delegate it to this cgroup)", c, l.v2Self)
			}
		}
		if err := unix.Access(l.v2Self, unix.W_OK); err != nil {
			return fmt.Errorf("cgroup v2: cannot create cgroups under %s: %w", l.v2Self, err)
		}
	case ModeV1, ModeHybrid:
		for _, c := range v1Required {
			dir, ok := l.v1Self[c]
			if !ok {
				return fmt.Errorf("cgroup v1: the %s controller is not mounted", c)
			}
			if err := unix.Access(dir, unix.W_OK); err != nil {
				return fmt.Errorf("cgroup v1: cannot create cgroups under %s: %w", dir, err)
			}
		}
	default:
		return errors.New("no cgroup file system is mounted")
	}
	return nil
}

// detect reads the layout from /proc/self/mountinfo and /proc/self/cgroup.
func detect() (layout, error) {
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return layout{}, fmt.Errorf("reading mounts: %w", err)
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return layout{}, fmt.Errorf("reading this process's cgroups: %w", err)
	}
	return parseLayout(string(mounts), string(self))
}

// parseLayout builds the layout from the text of /proc/self/mountinfo and
// /proc/self/cgroup.
func parseLayout(mountinfo, selfCgroup string) (layout, error) {
	// Paths of this process in each hierarchy: "" for v2, else by
	// controller (named hierarchies such as name=systemd are ignored).
	selfPath := map[string]string{}
	for _, line := range strings.Split(selfCgroup, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			selfPath[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			selfPath[c] = parts[2]
		}
	}

	l := layout{v1Mount: map[string]string{}, v1Root: map[string]string{}, v1Self: map[string]string{}}
	sc := bufio.NewScanner(strings.NewReader(mountinfo))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		root, mountPoint := unescapeMount(f[3]), unescapeMount(f[4])
		switch g[0] {
		case "cgroup2":
			if l.v2Mount == "" || mountPoint == "/sys/fs/cgroup" {
				l.v2Mount = mountPoint
				l.v2Self = within(mountPoint, root, selfPath[""])
			}
		case "cgroup":
			for _, opt := range strings.Split(g[2], ",") {
				if !isV1Controller(opt) {
					continue
				}
				if _, seen := l.v1Mount[opt]; seen {
					continue
				}
				l.v1Mount[opt] = mountPoint
				l.v1Root[opt] = root
				l.v1Self[opt] = within(mountPoint, root, selfPath[opt])
			}
		}
	}
	if err := sc.Err(); err != nil {
		return layout{}, fmt.Errorf("reading mounts: %w", err)
	}
	switch {
	case len(l.v1Mount) > 0 && l.v2Mount != "":
		l.mode = ModeHybrid
	case len(l.v1Mount) > 0:
		l.mode = ModeV1
	case l.v2Mount != "":
		l.mode = ModeV2
	default:
		return l, errors.New("no cgroup file system is mounted")
	}
	return l, nil
}

func isV1Controller(opt string) bool {
	for _, c := range v1Required {
		if opt == c {
			return true
		}
	}
	for _, c := range v1Optional {
		if opt == c {
			return true
		}
	}
	return false
}

// within maps a cgroup path as /proc/self/cgroup shows it to a directory,
// given the mount point and the part of the hierarchy mounted there (not
// "/" inside containers that bind-mount their own subtree).
func within(mountPoint, mountRoot, cgroupPath string) string {
	rel := cgroupPath
	if mountRoot != "/" {
		if r, ok := strings.CutPrefix(cgroupPath, mountRoot); ok && (r == "" || strings.HasPrefix(r, "/")) {
			rel = r
		} else {
			// The process sits outside the mounted subtree (or in a
			// cgroup namespace whose root is the mount root).
			rel = "/"
		}
	}
	return filepath.Join(mountPoint, rel)
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space, ...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + c - '0'
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// readControllers reads a cgroup.controllers or cgroup.subtree_control file.
func readControllers(path string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, c := range strings.Fields(string(b)) {
		have[c] = true
	}
	return have, nil
}
