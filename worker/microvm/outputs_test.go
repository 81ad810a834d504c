package microvm

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

type tarEntry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func makeTar(t *testing.T, entries ...tarEntry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: mode, Size: int64(len(e.body)), Linkname: e.link}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return &buf
}

func TestApplyOutputsWritesEveryKind(t *testing.T) {
	root := t.TempDir()
	cached := filepath.Join(t.TempDir(), "cache-entry")
	os.WriteFile(cached, []byte("cached"), 0o444)
	os.Link(cached, filepath.Join(root, "input"))
	os.MkdirAll(filepath.Join(root, "old/dir"), 0o755)
	os.WriteFile(filepath.Join(root, "replaced"), []byte("was a file"), 0o644)

	tr := makeTar(t,
		tarEntry{name: "input", typ: tar.TypeReg, body: "rewritten"},
		tarEntry{name: "out/", typ: tar.TypeDir, mode: 0o555},
		tarEntry{name: "out/f", typ: tar.TypeReg, body: "f", mode: 0o755},
		tarEntry{name: "out/l", typ: tar.TypeSymlink, link: "f"},
		tarEntry{name: "replaced/", typ: tar.TypeDir, mode: 0o755},
		tarEntry{name: "replaced/x", typ: tar.TypeReg, body: "x"},
	)
	if err := applyOutputs(root, tr, []string{"old", "replaced", "never-was"}); err != nil {
		t.Fatal(err)
	}
	check := func(rel, want string) {
		t.Helper()
		if b, err := os.ReadFile(filepath.Join(root, rel)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", rel, b, err, want)
		}
	}
	check("input", "rewritten")
	check("out/f", "f")
	check("out/l", "f")
	check("replaced/x", "x")
	if b, _ := os.ReadFile(cached); string(b) != "cached" {
		t.Errorf("the cache entry behind a hard link changed: %q", b)
	}
	if fi, err := os.Stat(filepath.Join(root, "out")); err != nil || fi.Mode().Perm() != 0o555 {
		t.Errorf("out has mode %v (%v), want 0555", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Join(root, "out/f")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("out/f has mode %v (%v), want 0755", fi.Mode(), err)
	}
	if _, err := os.Lstat(filepath.Join(root, "old")); !os.IsNotExist(err) {
		t.Errorf("old was not removed: %v", err)
	}
	os.Chmod(filepath.Join(root, "out"), 0o755)
}

func TestApplyOutputsNeverLeavesTheRoot(t *testing.T) {
	for name, tc := range map[string]struct {
		entries []tarEntry
		removed []string
	}{
		"dot-dot":          {entries: []tarEntry{{name: "../escape", typ: tar.TypeReg, body: "x"}}},
		"absolute":         {entries: []tarEntry{{name: "/escape", typ: tar.TypeReg, body: "x"}}},
		"through symlink":  {entries: []tarEntry{{name: "link/escape", typ: tar.TypeReg, body: "x"}}},
		"removal outside":  {removed: []string{"../outside-file"}},
		"removal via link": {removed: []string{"link/outside-file"}},
	} {
		t.Run(name, func(t *testing.T) {
			base := t.TempDir()
			root := filepath.Join(base, "root")
			outside := filepath.Join(base, "outside")
			os.MkdirAll(root, 0o755)
			os.MkdirAll(outside, 0o755)
			os.WriteFile(filepath.Join(base, "outside-file"), []byte("keep"), 0o644)
			os.WriteFile(filepath.Join(outside, "outside-file"), []byte("keep"), 0o644)
			os.Symlink(outside, filepath.Join(root, "link"))

			err := applyOutputs(root, makeTar(t, tc.entries...), tc.removed)
			if !errors.Is(err, errBadOutputs) {
				t.Errorf("applyOutputs: %v, want errBadOutputs", err)
			}
			for _, p := range []string{filepath.Join(base, "escape"), filepath.Join(outside, "escape"), "/escape"} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s was written outside the root", p)
				}
			}
			for _, p := range []string{filepath.Join(base, "outside-file"), filepath.Join(outside, "outside-file")} {
				if _, err := os.Stat(p); err != nil {
					t.Errorf("%s outside the root was removed: %v", p, err)
				}
			}
		})
	}
}
