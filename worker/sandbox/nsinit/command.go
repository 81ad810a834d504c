package nsinit

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/kilnbuild/kiln/internal/argv0"
)

// startCommand starts the command with no privileges: as a user that is
// not root (in a user namespace of its own or not: Action.UserNamespace),
// without capabilities and none to regain through set-user-id files
// (no_new_privs), in a session of its own, with only stdin, stdout and
// stderr. It returns the kind of a failure.
func startCommand(s *Action) (int, string, error) {
	if !s.UserNamespace && (s.CommandUID == 0 || s.CommandGID == 0) {
		return 0, KindSetup, errors.New("refusing to run the command as root")
	}
	exe, err := resolveExecutable(s.Args[0], s.Dir, s.Env, s.FallbackPath)
	if err != nil {
		return 0, KindNotFound, err
	}
	if s.MaxProcesses > 0 {
		// Process-wide, so ours too; the init is exempt as root, or
		// counts a few threads in its own user namespace.
		lim := unix.Rlimit{Cur: uint64(s.MaxProcesses), Max: uint64(s.MaxProcesses)}
		if err := unix.Setrlimit(unix.RLIMIT_NPROC, &lim); err != nil {
			return 0, KindSetup, fmt.Errorf("limiting processes: %w", err)
		}
	}
	sys := &syscall.SysProcAttr{
		Setsid: true,
		Credential: &syscall.Credential{Uid: uint32(s.CommandUID), Gid: uint32(s.CommandGID),
			Groups: []uint32{}, NoSetGroups: !s.ClearGroups},
	}
	if s.UserNamespace {
		sys.Cloneflags = syscall.CLONE_NEWUSER
		sys.UidMappings = []syscall.SysProcIDMap{{ContainerID: SandboxID, HostID: s.CommandUID, Size: 1}}
		sys.GidMappings = []syscall.SysProcIDMap{{ContainerID: SandboxID, HostID: s.CommandGID, Size: 1}}
		// setgroups stays denied where the init's own namespace denies
		// it (a worker that is not root).
		sys.GidMappingsEnableSetgroups = s.ClearGroups
		sys.Credential.Uid, sys.Credential.Gid = SandboxID, SandboxID
	}
	attr := &syscall.ProcAttr{Dir: s.Dir, Env: s.Env, Files: []uintptr{0, 1, 2}, Sys: sys}
	type started struct {
		pid int
		err error
	}
	ch := make(chan started, 1)
	go func() {
		// no_new_privs belongs to a thread and passes to its children:
		// set it on a thread that then forks the command and ends with
		// this goroutine (it stays locked), never serving another one.
		runtime.LockOSThread()
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			ch <- started{0, fmt.Errorf("setting no_new_privs: %w", err)}
			return
		}
		pid, err := syscall.ForkExec(exe, s.Args, attr)
		ch <- started{pid, err}
	}()
	st := <-ch
	if st.err != nil {
		return 0, classifyStartError(st.err), fmt.Errorf("starting %s: %w", exe, st.err)
	}
	return st.pid, "", nil
}

// classifyStartError tells a file the kernel refuses to execute (the
// client's fault) from a sandbox that cannot start processes.
func classifyStartError(err error) string {
	for _, errno := range []syscall.Errno{syscall.ENOENT, syscall.EACCES, syscall.ENOEXEC, syscall.ENOTDIR, syscall.ELOOP, syscall.EISDIR, syscall.ETXTBSY} {
		if errors.Is(err, errno) {
			return KindNotExecutable
		}
	}
	return KindSetup
}

// resolveExecutable finds the file arguments[0] names, as the sandbox sees
// it (checklist item 36), through fallbackPath when the action sets no PATH.
func resolveExecutable(arg0, workDir string, env []string, fallbackPath string) (string, error) {
	p, err := argv0.Resolve(arg0, workDir, env, fallbackPath, nil)
	if err != nil {
		return "", fmt.Errorf("%w in the sandbox", err)
	}
	return p, nil
}
