// Package isolationtest holds what the tests of the isolating runners
// (worker/sandbox, worker/gvisor) share: an action directory laid out as
// the worker does, and a buffer the runners' output copiers can write.
package isolationtest

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// SyncBuffer collects output written by a runner's copiers.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Action is one prepared action directory, laid out as the worker does:
// <Dir>/root is the input root, Root.
type Action struct {
	Dir, Root string
}

// NewAction makes an Action in a test's temporary directory.
func NewAction(t testing.TB) Action {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "action")
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return Action{Dir: dir, Root: root}
}

// Write creates rel in the input root as the worker's file cache does:
// owned by the worker, with mode (whatever the umask), and returns its
// path.
func (a Action) Write(t testing.TB, rel, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(a.Root, rel)
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
