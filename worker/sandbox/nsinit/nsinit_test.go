package nsinit

import (
	"errors"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The init hook runs early only while every import of this package is
// initialized early (see doc.go): a new import must be checked, with
// GODEBUG=inittrace=1 on a kiln binary started as Arg0, and added here.
func TestImportsStayEarlyInitialized(t *testing.T) {
	allowed := map[string]bool{
		"encoding/json": true, "errors": true, "fmt": true, "io": true, "io/fs": true, "os": true, "os/signal": true,
		"path": true, "runtime": true, "strings": true, "syscall": true, "time": true,
		"golang.org/x/sys/unix": true,
		// Imports only errors, fmt, os, path and strings, and has no init.
		"github.com/kilnbuild/kiln/internal/argv0": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !allowed[path] {
				t.Errorf("%s imports %s, which may be initialized late (path/filepath is)", f, path)
			}
		}
	}
}

func TestResolveExecutable(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]os.FileMode{"tool": 0o755, "data": 0o644} {
		if err := os.WriteFile(filepath.Join(bin, name), nil, mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		arg0     string
		env      []string
		fallback string
		want     string // "" for an error
	}{
		{"tool", []string{"PATH=" + bin}, "", bin + "/tool"},
		{"tool", []string{"PATH=bin"}, "", bin + "/tool"},                     // relative to the working directory
		{"tool", nil, bin, bin + "/tool"},                                     // the worker's PATH when the action sets none
		{"tool", []string{"PATH=/nowhere", "PATH=" + bin}, "", bin + "/tool"}, // the last one counts
		{"./bin/tool", nil, "", bin + "/tool"},
		{bin + "/tool", nil, "", bin + "/tool"},
		{"data", []string{"PATH=" + bin}, "", ""},
		{"./bin/data", nil, "", ""},
		{"tool", []string{"PATH="}, bin, ""},
		{"", nil, bin, ""},
	} {
		got, err := resolveExecutable(tc.arg0, dir, tc.env, tc.fallback)
		if tc.want == "" && err == nil || tc.want != "" && got != tc.want {
			t.Errorf("resolveExecutable(%q, %v, %q) = %q, %v; want %q", tc.arg0, tc.env, tc.fallback, got, err, tc.want)
		}
	}
}

func TestClassifyStartError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{syscall.ENOEXEC, KindNotExecutable},
		{syscall.EACCES, KindNotExecutable},
		{&os.PathError{Op: "fork/exec", Path: "/x", Err: syscall.ENOENT}, KindNotExecutable},
		{syscall.EAGAIN, KindSetup},
		{errors.New("other"), KindSetup},
	} {
		if got := classifyStartError(tc.err); got != tc.want {
			t.Errorf("classifyStartError(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}
