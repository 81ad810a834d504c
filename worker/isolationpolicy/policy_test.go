package isolationpolicy

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/kilnbuild/kiln/worker"
	"github.com/kilnbuild/kiln/worker/cgroup"
)

func TestReadOnlyPaths(t *testing.T) {
	got, err := ReadOnlyPaths(nil)
	if err != nil || !slices.Equal(got, DefaultReadOnlyPaths) {
		t.Errorf("nil: %v, %v; want the defaults", got, err)
	}
	got, err = ReadOnlyPaths([]string{"/usr/local/", "/usr", "/usr/./local"})
	if err != nil || !slices.Equal(got, []string{"/usr", "/usr/local"}) {
		t.Errorf("got %v, %v; want [/usr /usr/local]", got, err)
	}
	for _, bad := range []string{"usr", "/", "/proc", "/dev/shm", "/tmp/x"} {
		if _, err := ReadOnlyPaths([]string{bad}); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
	if _, err := ReadOnlyPaths([]string{"/tmpfoo"}); err != nil {
		t.Errorf("/tmpfoo: %v", err)
	}
}

func TestIDs(t *testing.T) {
	if u, g, err := IDs(0, 0); err != nil || u != DefaultID || g != DefaultID {
		t.Errorf("IDs(0, 0) = %d, %d, %v", u, g, err)
	}
	if u, g, err := IDs(1000, 1001); err != nil || u != 1000 || g != 1001 {
		t.Errorf("IDs(1000, 1001) = %d, %d, %v", u, g, err)
	}
	if _, _, err := IDs(-1, 5); err == nil {
		t.Error("IDs(-1, 5) accepted")
	}
}

func TestCheckRootDir(t *testing.T) {
	ro := []string{"/usr"}
	for _, tc := range []struct{ root, work, want string }{
		{"/data/a/root", "/data/a/root/sub", ""},
		{"data/root", "data/root", "not a clean absolute path"},
		{"/data/a/../root", "/data/root", "not a clean absolute path"},
		{"/usr/local/root", "/usr/local/root", "overlaps /usr"},
		{"/", "/", "overlaps /dev"},
		{"/data/a/root", "/data/b", "outside the input root"},
	} {
		err := CheckRootDir(tc.root, tc.work, ro)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckRootDir(%q, %q) = %v; want %q", tc.root, tc.work, err, tc.want)
		}
	}
}

func TestParseRequest(t *testing.T) {
	pol := RequestPolicy{Actions: "test actions", DefaultLimits: cgroup.Limits{Pids: 10}}
	req, err := ParseRequest(nil, pol)
	if err != nil || req.Network || req.Limits.Pids != 10 {
		t.Errorf("empty platform: %+v, %v; want no network, the default limits", req, err)
	}
	pol.AllowNetwork = true
	if req, err := ParseRequest(worker.Platform{NetworkProperty: {NetworkOn}}, pol); err != nil || !req.Network {
		t.Errorf("network=on allowed: %+v, %v", req, err)
	}
	pol.AllowNetwork = false
	pol.HeldWithoutCgroups = []string{cgroup.PidsProperty}
	for _, tc := range []struct {
		platform worker.Platform
		want     string
	}{
		{worker.Platform{NetworkProperty: {NetworkOn}}, "network=on: this worker does not give test actions network access"},
		{worker.Platform{NetworkProperty: {"maybe"}}, `network="maybe": the value must be on or off`},
		{worker.Platform{NetworkProperty: {"on", "off"}}, "network is given 2 times"},
		{worker.Platform{cgroup.MemoryProperty: {"1GiB"}}, "memory=1GiB: this worker cannot enforce this limit on test actions"},
	} {
		_, err := ParseRequest(tc.platform, pol)
		if !errors.Is(err, worker.ErrBadPlatform) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("platform %v: %v; want ErrBadPlatform saying %q", tc.platform, err, tc.want)
		}
	}
	if _, err := ParseRequest(worker.Platform{cgroup.PidsProperty: {"5"}}, pol); err != nil {
		t.Errorf("pids=5, held without cgroups: %v", err)
	}
	pol.Cgroups = true
	if req, err := ParseRequest(worker.Platform{cgroup.MemoryProperty: {"1GiB"}}, pol); err != nil || req.Limits.MemoryBytes != 1<<30 {
		t.Errorf("memory=1GiB with cgroups: %+v, %v", req, err)
	}
}

func TestGiveDirsLeavesFiles(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	root := t.TempDir()
	sub := filepath.Join(root, "sub")
	file := filepath.Join(sub, "f")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := GiveDirs(root, 4242, 4243); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]uint32{root: 4242, sub: 4242, file: 0} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != want {
			t.Errorf("%s: owner %d, want %d", p, uid, want)
		}
	}
}
