package agent

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

func TestDiffTreesFindsWhatTheActionDid(t *testing.T) {
	root := t.TempDir()
	mk := func(rel, content string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("keep.txt", "same")
	mk("change.txt", "old")
	mk("gone/inner/x.txt", "x")
	mk("becomes-dir", "file")
	mk("out/.keep", "")
	before, err := scanTree(root)
	if err != nil {
		t.Fatal(err)
	}

	mk("change.txt", "new content")
	mk("out/new.txt", "new")
	if err := os.RemoveAll(filepath.Join(root, "gone")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "becomes-dir")); err != nil {
		t.Fatal(err)
	}
	mk("becomes-dir/f", "f")
	if err := os.Symlink("new.txt", filepath.Join(root, "out", "link")); err != nil {
		t.Fatal(err)
	}
	after, err := scanTree(root)
	if err != nil {
		t.Fatal(err)
	}
	changed, removed := diffTrees(before, after)
	wantChanged := []string{"becomes-dir", "becomes-dir/f", "change.txt", "out", "out/link", "out/new.txt"}
	if !reflect.DeepEqual(changed, wantChanged) {
		t.Errorf("changed = %v, want %v", changed, wantChanged)
	}
	if want := []string{"becomes-dir", "gone"}; !reflect.DeepEqual(removed, want) {
		t.Errorf("removed = %v, want %v (topmost only)", removed, want)
	}

	dev := filepath.Join(t.TempDir(), "device")
	if err := os.WriteFile(dev, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := writeOutputs(dev, root, changed)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fi, _ := f.Stat(); fi.Size() != n {
		t.Errorf("writeOutputs reported %d bytes, wrote %d", n, fi.Size())
	}
	tr := tar.NewReader(f)
	got := map[string]string{}
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		names = append(names, h.Name)
		got[h.Name] = string(b) + h.Linkname
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("tar entries %v are not in order (directories first)", names)
	}
	for name, want := range map[string]string{"change.txt": "new content", "out/new.txt": "new", "out/link": "new.txt", "out/": ""} {
		if g, ok := got[name]; !ok || g != want {
			t.Errorf("tar entry %s = %q (present %v), want %q", name, g, ok, want)
		}
	}
	if _, ok := got["keep.txt"]; ok {
		t.Error("an untouched input went into the outputs")
	}
}

func TestResolveFollowsPathAndWorkingDir(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "bin", "tool")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if p, _, err := resolve("tool", dir, []string{"PATH=/nonexistent:bin"}); err != nil || p != exe {
		t.Errorf("relative PATH entry: %q, %v", p, err)
	}
	if p, _, err := resolve("./bin/tool", dir, nil); err != nil || p != exe {
		t.Errorf("relative to the working directory: %q, %v", p, err)
	}
	if _, kind, err := resolve("tool", dir, []string{"PATH=/nonexistent"}); err == nil || kind == "" {
		t.Errorf("missing command resolved: %v", err)
	}
}
