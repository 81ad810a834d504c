package redistest

import "syscall"

// procAttr makes the kernel kill redis-server if the test process dies
// without its cleanups (a panic, a timeout, kill -9), so that no server
// outlives the test on a shared machine.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
