package bazeltest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestdataDir returns the module's top-level testdata folder, found by
// walking up from the working directory (a package's folder under go test)
// to the directory holding go.mod.
func TestdataDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			td := filepath.Join(dir, "testdata")
			if _, err := os.Stat(filepath.Join(td, "bazel_overrides")); err != nil {
				t.Fatalf("module root %s has no testdata/bazel_overrides: %v", dir, err)
			}
			return td
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("bazeltest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// RemoveAll removes dir like os.RemoveAll, first making every directory in
// it writable: Bazel leaves read-only trees behind that RemoveAll alone
// cannot delete.
func RemoveAll(dir string) error {
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return os.Chmod(path, 0o755)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.RemoveAll(dir)
}
