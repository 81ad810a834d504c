//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package cas

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir takes an exclusive flock on dir/LOCK. Two stores on one directory
// would each believe they own every byte there: one would delete the other's
// uploads as stray temp files at start-up, and both would miscount the size.
// The kernel drops the lock when the process dies, so a crash leaves no
// stale lock behind.
func lockDir(dir string) (release func() error, err error) {
	f, err := os.OpenFile(filepath.Join(dir, diskLockFileName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is in use by another disk store", dir)
		}
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	// Closing the file releases the flock.
	return f.Close, nil
}
