package gvisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The parts of the OCI runtime spec (config.json) a bundle uses.
type (
	ociSpec struct {
		Version  string     `json:"ociVersion"`
		Process  ociProcess `json:"process"`
		Root     ociRoot    `json:"root"`
		Hostname string     `json:"hostname"`
		Mounts   []ociMount `json:"mounts"`
		Linux    ociLinux   `json:"linux"`
	}
	ociProcess struct {
		User            ociUser         `json:"user"`
		Args            []string        `json:"args"`
		Env             []string        `json:"env"`
		Cwd             string          `json:"cwd"`
		Capabilities    ociCapabilities `json:"capabilities"`
		NoNewPrivileges bool            `json:"noNewPrivileges"`
	}
	ociUser struct {
		UID int `json:"uid"`
		GID int `json:"gid"`
	}
	// ociCapabilities is empty: none at all, in every set.
	ociCapabilities struct {
		Bounding    []string `json:"bounding"`
		Effective   []string `json:"effective"`
		Inheritable []string `json:"inheritable"`
		Permitted   []string `json:"permitted"`
		Ambient     []string `json:"ambient"`
	}
	ociRoot struct {
		Path     string `json:"path"`
		Readonly bool   `json:"readonly"`
	}
	ociMount struct {
		Destination string   `json:"destination"`
		Type        string   `json:"type"`
		Source      string   `json:"source"`
		Options     []string `json:"options,omitempty"`
	}
	ociLinux struct {
		Namespaces []ociNamespace `json:"namespaces"`
	}
	ociNamespace struct {
		Type string `json:"type"`
	}
)

// Hostname is the host name actions see.
const Hostname = "gvisor"

// bundle is one action's OCI bundle directory: config.json, the root's
// skeleton (mount points only) and the action's /tmp.
type bundle struct {
	dir string
}

func (b bundle) rootfs() string { return filepath.Join(b.dir, "rootfs") }
func (b bundle) tmp() string    { return filepath.Join(b.dir, "tmp") }

// bundleSpec is what goes into one bundle.
type bundleSpec struct {
	args          []string
	env           []string
	cwd           string
	rootDir       string
	readOnlyPaths []string
	uid, gid      int
}

// writeBundle creates dir as a bundle for s. The root is a skeleton of
// empty directories, one per mount point, and the host's top-level
// symlinks among the read-only paths (/bin -> usr/bin on merged-/usr
// hosts), so that no host file is there but through a mount.
func writeBundle(dir string, s bundleSpec) (bundle, error) {
	b := bundle{dir: dir}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return b, fmt.Errorf("creating the bundle: %w", err)
	}
	root := b.rootfs()
	mounts := []ociMount{{Destination: "/proc", Type: "proc", Source: "proc"}}
	for _, p := range s.readOnlyPaths {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return b, err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return b, err
			}
			if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
				return b, err
			}
			// A later path may have made it already (a parent's mount
			// point); the mount then wins.
			if err := os.Symlink(target, filepath.Join(root, p)); err != nil && !errors.Is(err, fs.ErrExist) {
				return b, err
			}
			continue
		}
		if err := mountPoint(root, p, fi.IsDir()); err != nil {
			return b, err
		}
		mounts = append(mounts, ociMount{Destination: p, Type: "bind", Source: p, Options: []string{"rbind", "ro", "nosuid", "nodev"}})
	}
	if err := os.Mkdir(b.tmp(), 0o700); err != nil {
		return b, err
	}
	if err := os.Chown(b.tmp(), s.uid, s.gid); err != nil {
		return b, fmt.Errorf("giving /tmp to the action's user: %w", err)
	}
	for _, p := range []string{"/dev", "/proc", "/tmp", s.rootDir} {
		if err := mountPoint(root, p, true); err != nil {
			return b, err
		}
	}
	if rel, ok := strings.CutPrefix(s.rootDir, "/tmp/"); ok {
		// The input root is mounted over the action's /tmp, so its
		// mount point is made there.
		if err := mountPoint(b.tmp(), rel, true); err != nil {
			return b, err
		}
	}
	mounts = append(mounts,
		ociMount{Destination: "/tmp", Type: "bind", Source: b.tmp(), Options: []string{"rbind", "rw", "nosuid", "nodev"}},
		ociMount{Destination: s.rootDir, Type: "bind", Source: s.rootDir, Options: []string{"rbind", "rw", "nosuid", "nodev"}},
	)
	spec := ociSpec{
		Version: "1.0.2",
		Process: ociProcess{
			User:            ociUser{UID: s.uid, GID: s.gid},
			Args:            s.args,
			Env:             s.env,
			Cwd:             s.cwd,
			Capabilities:    ociCapabilities{Bounding: []string{}, Effective: []string{}, Inheritable: []string{}, Permitted: []string{}, Ambient: []string{}},
			NoNewPrivileges: true,
		},
		Root:     ociRoot{Path: root, Readonly: true},
		Hostname: Hostname,
		Mounts:   mounts,
		Linux: ociLinux{Namespaces: []ociNamespace{
			{Type: "pid"}, {Type: "network"}, {Type: "ipc"}, {Type: "uts"}, {Type: "mount"},
		}},
	}
	if spec.Process.Env == nil {
		spec.Process.Env = []string{}
	}
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return b, err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		return b, err
	}
	return b, nil
}

// mountPoint makes the directory (or empty file) p inside root.
func mountPoint(root, p string, dir bool) error {
	at := filepath.Join(root, p)
	if dir {
		return os.MkdirAll(at, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(at), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(at, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}
