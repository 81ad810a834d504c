package worker

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"a", "a.b", "...", ".hidden", "with space"} {
		if err := checkName(ok); err != nil {
			t.Errorf("checkName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "/a", "a/", "a\x00b"} {
		if err := checkName(bad); err == nil {
			t.Errorf("checkName(%q) = nil, want an error", bad)
		}
	}
}

func TestCleanRelative(t *testing.T) {
	good := map[string]string{"a": "a", "a/b": "a/b", "a/./b": "a/b", "a/../b": "b", "a/..": ""}
	for in, want := range good {
		got, err := cleanRelative(in, false)
		if err != nil || got != want {
			t.Errorf("cleanRelative(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"/a", "a/", "..", "../a", "a/../../b", "a\x00"} {
		if _, err := cleanRelative(bad, false); err == nil {
			t.Errorf("cleanRelative(%q) = nil error", bad)
		}
	}
	if _, err := cleanRelative("", false); err == nil {
		t.Error("empty path accepted without allowEmpty")
	}
	if got, err := cleanRelative("", true); err != nil || got != "" {
		t.Errorf("cleanRelative(\"\", true) = %q, %v", got, err)
	}
}

// symlinks creates the given links (name -> target) and directories under
// a fresh root.
func symlinkRoot(t *testing.T, dirs []string, links map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestResolveInside(t *testing.T) {
	root := symlinkRoot(t, []string{"x/y", "d"}, map[string]string{
		"x/up":    "..",           // the root: fine
		"x/trick": "up/..",        // lexically x, really the root's parent
		"x/abs":   "/etc",         // absolute
		"x/loop":  "loop",         // a loop
		"d/ok":    "../x/y",       // fine
		"x/chain": "../d/ok/../y", // d/ok/.. is x, so x/y
	})
	good := map[string]string{
		"x/y":          "x/y",
		"x/up":         "",
		"x/up/x":       "x",
		"d/ok":         "x/y",
		"d/ok/file":    "x/y/file",
		"missing/a/..": "missing",
		"x/chain":      "x/y",
	}
	for in, want := range good {
		got, err := resolveInside(root, in, true)
		if err != nil || got != want {
			t.Errorf("resolveInside(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"..", "x/../..", "x/trick", "x/trick/etc", "x/abs", "x/abs/passwd", "x/up/.."} {
		_, err := resolveInside(root, bad, true)
		if !errors.Is(err, errEscapes) {
			t.Errorf("resolveInside(%q) = %v, want errEscapes", bad, err)
		}
	}
	if _, err := resolveInside(root, "x/loop", true); err == nil {
		t.Error("a symlink loop resolved")
	}
	// Not following the last component leaves the link itself.
	if got, err := resolveInside(root, "x/abs", false); err != nil || got != "x/abs" {
		t.Errorf("resolveInside(x/abs, nofollow) = %q, %v", got, err)
	}
}

func TestSymlinkStaysInside(t *testing.T) {
	root := symlinkRoot(t, []string{"a/b"}, map[string]string{"a/up": ".."})
	for _, c := range []struct {
		link, target string
		ok           bool
	}{
		{"a/b/l", "../x", true},
		{"a/b/l", "../../x", true},
		{"a/b/l", "../../../x", false},
		{"a/l", "up/../..", false},
		{"l", "/etc/passwd", false},
		{"l", "", false},
	} {
		err := symlinkStaysInside(root, c.link, c.target, false)
		if (err == nil) != c.ok {
			t.Errorf("%s -> %s: err %v, want ok=%v", c.link, c.target, err, c.ok)
		}
	}
	if err := symlinkStaysInside(root, "l", "/usr/bin", true); err != nil {
		t.Errorf("absolute target refused although allowed: %v", err)
	}
}

func TestMkdirAllInsideNeverLeavesTheRoot(t *testing.T) {
	outside := t.TempDir()
	root := symlinkRoot(t, []string{"in"}, map[string]string{
		"out":  outside,
		"rel":  "../" + filepath.Base(outside),
		"file": "in", // a directory symlink inside: fine
	})
	if err := os.WriteFile(filepath.Join(root, "plain"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"out/x", "rel/x", "plain/x", "../x"} {
		if err := mkdirAllInside(root, bad); err == nil {
			t.Errorf("mkdirAllInside(%q) succeeded", bad)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("something was created outside the root: %v", entries)
	}
	if err := mkdirAllInside(root, "file/a/b"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(root, "in", "a", "b")); err != nil || !fi.IsDir() {
		t.Errorf("in/a/b not created through the inside symlink: %v", err)
	}
}
