package cgroup

import "testing"

const (
	hybridMountinfo = `25 30 0:23 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw
27 25 0:25 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd
28 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct
29 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
30 25 0:28 / /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids
31 25 0:29 / /sys/fs/cgroup/freezer rw,nosuid - cgroup cgroup rw,freezer
`
	hybridSelf = `5:pids:/user.slice
4:memory:/user.slice/session-1.scope
3:cpu,cpuacct:/user.slice
2:freezer:/
1:name=systemd:/user.slice/session-1.scope
0::/user.slice/session-1.scope
`
)

func TestParseLayoutHybrid(t *testing.T) {
	l, err := parseLayout(hybridMountinfo, hybridSelf)
	if err != nil {
		t.Fatal(err)
	}
	if l.mode != ModeHybrid {
		t.Fatalf("mode %v, want hybrid", l.mode)
	}
	for c, want := range map[string]string{
		"memory":  "/sys/fs/cgroup/memory/user.slice/session-1.scope",
		"cpu":     "/sys/fs/cgroup/cpu,cpuacct/user.slice",
		"cpuacct": "/sys/fs/cgroup/cpu,cpuacct/user.slice",
		"pids":    "/sys/fs/cgroup/pids/user.slice",
		"freezer": "/sys/fs/cgroup/freezer",
	} {
		if got := l.v1Self[c]; got != want {
			t.Errorf("%s: self %q, want %q", c, got, want)
		}
	}
	if _, ok := l.v1Mount["name=systemd"]; ok {
		t.Error("the named systemd hierarchy is taken for a controller")
	}
	if l.v2Self != "/sys/fs/cgroup/unified/user.slice/session-1.scope" {
		t.Errorf("v2 self %q", l.v2Self)
	}
}

func TestParseLayoutV2(t *testing.T) {
	l, err := parseLayout(`35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate`+"\n",
		"0::/system.slice/kiln.service\n")
	if err != nil {
		t.Fatal(err)
	}
	if l.mode != ModeV2 || l.v2Self != "/sys/fs/cgroup/system.slice/kiln.service" {
		t.Fatalf("got mode %v self %q", l.mode, l.v2Self)
	}
	if got := base(l.v2Mount, l.v2Self, "kiln/w1"); got != "/sys/fs/cgroup/system.slice/kiln.service/kiln/w1" {
		t.Errorf("relative parent: %q", got)
	}
	if got := base(l.v2Mount, l.v2Self, "/kiln/w1"); got != "/sys/fs/cgroup/kiln/w1" {
		t.Errorf("absolute parent: %q", got)
	}
}

func TestParseLayoutContainerSubtree(t *testing.T) {
	// A container without a cgroup namespace sees its own subtree mounted
	// at /sys/fs/cgroup/memory and its full path in /proc/self/cgroup.
	l, err := parseLayout(`40 30 0:27 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory
41 30 0:26 /docker/abc /sys/fs/cgroup/cpu rw,nosuid - cgroup cgroup rw,cpu
42 30 0:28 /docker/abc /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids
`, "4:memory:/docker/abc/worker\n3:cpu:/docker/abc\n2:pids:/\n")
	if err != nil {
		t.Fatal(err)
	}
	if l.mode != ModeV1 {
		t.Fatalf("mode %v, want v1", l.mode)
	}
	for c, want := range map[string]string{
		"memory": "/sys/fs/cgroup/memory/worker",
		"cpu":    "/sys/fs/cgroup/cpu",
		"pids":   "/sys/fs/cgroup/pids",
	} {
		if got := l.v1Self[c]; got != want {
			t.Errorf("%s: self %q, want %q", c, got, want)
		}
	}
}

func TestParseLayoutNone(t *testing.T) {
	l, err := parseLayout("22 1 0:21 / /proc rw - proc proc rw\n", "")
	if err == nil || l.mode != ModeNone {
		t.Fatalf("got mode %v, err %v; want none with an error", l.mode, err)
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/mnt/with\040space`); got != "/mnt/with space" {
		t.Fatalf("got %q", got)
	}
}

func TestNewRejectsBadNames(t *testing.T) {
	lay := layout{mode: ModeV2, v2Mount: t.TempDir()}
	lay.v2Self = lay.v2Mount
	for _, tc := range []struct{ parent, name string }{
		{"kiln", ""}, {"kiln", ".."}, {"kiln", "a/b"}, {"../escape", "a"}, {"/kiln/../../x", "a"},
	} {
		if _, err := newGroup(lay, tc.parent, tc.name, Limits{}); err == nil {
			t.Errorf("parent %q name %q: accepted", tc.parent, tc.name)
		}
	}
	if _, err := newGroup(lay, "kiln", "a", Limits{MemoryBytes: -1}); err == nil {
		t.Error("negative limit accepted")
	}
}
