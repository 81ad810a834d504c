package argv0

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"bin", "work/tools", "other"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []struct {
		name string
		mode os.FileMode
	}{{"bin/tool", 0o755}, {"work/tools/local", 0o755}, {"work/data", 0o644}, {"other/tool", 0o755}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte("#!/bin/sh\n"), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	work := filepath.Join(dir, "work")
	bin := filepath.Join(dir, "bin")
	for _, tc := range []struct {
		arg0, fallback string
		env            []string
		visible        func(string) bool
		want           string // "" means ErrNotFound
	}{
		{arg0: "tool", env: []string{"PATH=" + bin}, want: filepath.Join(bin, "tool")},
		// The last PATH wins, as with execve.
		{arg0: "tool", env: []string{"PATH=/nowhere", "PATH=" + dir + "/other"}, want: filepath.Join(dir, "other/tool")},
		// Relative PATH entries and slashes resolve from the working directory.
		{arg0: "local", env: []string{"PATH=tools"}, want: filepath.Join(work, "tools/local")},
		{arg0: "tools/local", want: filepath.Join(work, "tools/local")},
		{arg0: "./tools/local", want: filepath.Join(work, "tools/local")},
		// Without a PATH of its own the action gets the fallback.
		{arg0: "tool", fallback: bin, want: filepath.Join(bin, "tool")},
		// Not executable, missing, empty, or not visible to the action.
		{arg0: "data", env: []string{"PATH=."}},
		{arg0: "./data"},
		{arg0: "tool", env: []string{"PATH=/nowhere"}, fallback: bin},
		{arg0: ""},
		{arg0: "tool", env: []string{"PATH=" + bin}, visible: func(string) bool { return false }},
	} {
		got, err := Resolve(tc.arg0, work, tc.env, tc.fallback, tc.visible)
		if tc.want == "" {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("Resolve(%q, env %v) = %q, %v; want ErrNotFound", tc.arg0, tc.env, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%q, env %v) = %q, %v; want %q", tc.arg0, tc.env, got, err, tc.want)
		}
	}
}
