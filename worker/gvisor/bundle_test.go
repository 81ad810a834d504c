package gvisor

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestWriteBundle(t *testing.T) {
	host := t.TempDir()
	// A host layout: a real toolchain directory, a merged-/usr symlink,
	// a single file and a path the host lacks.
	usr := filepath.Join(host, "usr")
	os.MkdirAll(filepath.Join(usr, "bin"), 0o755)
	os.Symlink("usr/bin", filepath.Join(host, "bin"))
	hostsFile := filepath.Join(host, "hosts")
	os.WriteFile(hostsFile, []byte("127.0.0.1 localhost\n"), 0o644)
	rootDir := filepath.Join(host, "data", "actions", "a1", "root")
	os.MkdirAll(rootDir, 0o755)

	dir := filepath.Join(t.TempDir(), "bundle")
	b, err := writeBundle(dir, bundleSpec{
		args: []string{"/usr/bin/cc", "-c", "x.c"}, env: []string{"PATH=/usr/bin"}, cwd: rootDir, rootDir: rootDir,
		readOnlyPaths: []string{filepath.Join(host, "bin"), hostsFile, filepath.Join(host, "missing"), usr},
		uid:           65534, gid: 65534,
	})
	if err != nil {
		t.Fatal(err)
	}
	var spec ociSpec
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	if !spec.Root.Readonly || spec.Root.Path != b.rootfs() {
		t.Errorf("root %+v, want the read-only skeleton", spec.Root)
	}
	if spec.Process.User != (ociUser{65534, 65534}) || !spec.Process.NoNewPrivileges || len(spec.Process.Capabilities.Bounding) != 0 {
		t.Errorf("process %+v: want nobody, no new privileges, no capabilities", spec.Process)
	}
	if !slices.Equal(spec.Process.Args, []string{"/usr/bin/cc", "-c", "x.c"}) || spec.Process.Cwd != rootDir {
		t.Errorf("args %v cwd %s", spec.Process.Args, spec.Process.Cwd)
	}
	mounts := map[string]ociMount{}
	for _, m := range spec.Mounts {
		mounts[m.Destination] = m
	}
	for dest, wantRO := range map[string]bool{usr: true, hostsFile: true, rootDir: false, "/tmp": false} {
		m, ok := mounts[dest]
		if !ok {
			t.Errorf("no mount at %s", dest)
			continue
		}
		if slices.Contains(m.Options, "ro") != wantRO {
			t.Errorf("mount %s options %v, read-only should be %v", dest, m.Options, wantRO)
		}
	}
	if _, ok := mounts[filepath.Join(host, "bin")]; ok {
		t.Error("the symlink is mounted instead of copied")
	}
	if target, err := os.Readlink(filepath.Join(b.rootfs(), host, "bin")); err != nil || target != "usr/bin" {
		t.Errorf("skeleton symlink: %q, %v", target, err)
	}
	if _, ok := mounts[filepath.Join(host, "missing")]; ok {
		t.Error("a path the host lacks is mounted")
	}
	// Nothing of the host is in the skeleton but mount points.
	filepath.WalkDir(b.rootfs(), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && p != filepath.Join(b.rootfs(), hostsFile) {
			t.Errorf("file %s in the skeleton", p)
		}
		return nil
	})
	if fi, err := os.Stat(b.tmp()); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("/tmp: %v, %v", fi, err)
	}
}

func TestCheckRootDir(t *testing.T) {
	r := &Runner{opts: Options{ReadOnlyPaths: DefaultReadOnlyPaths}}
	for _, tc := range []struct {
		root, work string
		ok         bool
	}{
		{"/srv/kiln/actions/a/root", "/srv/kiln/actions/a/root/pkg", true},
		{"/tmp/kiln/actions/a/root", "/tmp/kiln/actions/a/root", true},
		{"/usr/local/kiln/root", "/usr/local/kiln/root", false},
		{"/srv/kiln/root", "/srv/other", false},
		{"relative/root", "relative/root", false},
		{"/srv/kiln/../root", "/srv/root", false},
		{"/tmp", "/tmp", false},
		{"/", "/", false},
	} {
		if err := r.checkRootDir(tc.root, tc.work); (err == nil) != tc.ok {
			t.Errorf("root %s work %s: got %v, want ok=%v", tc.root, tc.work, err, tc.ok)
		}
	}
}

func TestOptionsDefaults(t *testing.T) {
	if _, err := (Options{}).withDefaults(); err == nil {
		t.Error("no state directory accepted")
	}
	for _, p := range []string{"relative", "/", "/proc", "/dev/shm", "/tmp"} {
		if _, err := (Options{StateDir: "/x", ReadOnlyPaths: []string{p}}).withDefaults(); err == nil {
			t.Errorf("read-only path %q accepted", p)
		}
	}
	o, err := Options{StateDir: "/x", ReadOnlyPaths: []string{"/usr/local", "/usr", "/usr"}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.ReadOnlyPaths, []string{"/usr", "/usr/local"}) || o.UID != DefaultID || o.Platform != DefaultPlatform || o.DefaultLimits.Pids != DefaultPids {
		t.Errorf("defaults: %+v", o)
	}
}
