//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockWorkerDir takes an exclusive flock on dir/kiln-worker.lock, so that a
// second worker (a `kiln worker` beside a `kiln up` with default data
// directories, say) refuses to start instead of wiping the first one's
// action directories. The kernel drops the lock when the process dies.
func lockWorkerDir(dir string) (unlock func() error, err error) {
	f, err := os.OpenFile(filepath.Join(dir, "kiln-worker.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is in use by another worker; give each worker its own directory", dir)
		}
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	return f.Close, nil
}
