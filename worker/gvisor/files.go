package gvisor

import (
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// giveDirs makes uid:gid the owner of root and every directory below it,
// so that the action can create and remove its outputs. Files are left
// alone: input files are hardlinks of the worker's file cache, shared
// with other actions, and must stay the worker's, read-only, so that the
// action can neither write nor chmod them. Symbolic links are not
// followed.
func giveDirs(root string, uid, gid int) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Lchown(p, uid, gid)
		}
		return nil
	})
}

// tailBuffer keeps the last bytes written to it: enough of runsc's own
// messages to say why it failed.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailBytes = 4096

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailBytes {
		t.buf = append(t.buf[:0:0], t.buf[len(t.buf)-tailBytes:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
