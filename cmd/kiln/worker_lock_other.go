//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package main

// lockWorkerDir does nothing where flock is unavailable: the operator must
// give each worker its own data directory.
func lockWorkerDir(string) (unlock func() error, err error) {
	return func() error { return nil }, nil
}
