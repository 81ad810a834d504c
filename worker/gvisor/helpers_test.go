package gvisor

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kilnbuild/kiln/worker/cgroup"
)

// newTestRunner returns a Runner with its own state directory and cgroup
// parent, or skips the test where runsc is missing or does not work
// (unless KILN_REQUIRE_GVISOR=1).
func newTestRunner(t testing.TB, opts Options) *Runner {
	t.Helper()
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	if opts.CgroupParent == "" {
		if _, err := cgroup.Available(); err == nil {
			opts.CgroupParent = fmt.Sprintf("kiln-gvisor-test-%d", os.Getpid())
		}
	}
	r, err := New(opts)
	if err != nil {
		if os.Getenv("KILN_REQUIRE_GVISOR") == "1" {
			t.Fatal(err)
		}
		t.Skipf("no gVisor here: %v (KILN_REQUIRE_GVISOR=1 makes this fail)", err)
	}
	if r.cgroups {
		t.Cleanup(func() {
			removeCgroupParent(t, r.cgroupParent())
			removeCgroupParent(t, opts.CgroupParent)
		})
	}
	return r
}

// removeCgroupParent removes the test's cgroup parent.
func removeCgroupParent(t testing.TB, parent string) {
	if err := cgroup.RemoveParent(parent); err != nil {
		t.Errorf("removing the test's cgroup parent: %v", err)
	}
}

// syncBuffer collects output written by the runner's copiers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// action is one prepared action directory, laid out as the worker does:
// <dir>/root is the input root.
type action struct {
	dir, root string
}

func newAction(t testing.TB) action {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "action")
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return action{dir: dir, root: root}
}

// write creates a file in the input root as the worker's file cache does:
// owned by the worker, with mode.
func (a action) write(t testing.TB, rel, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(a.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}
