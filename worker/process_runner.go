package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kilnbuild/kiln/internal/argv0"
)

// ProcessRunner runs a command as a plain child process in its own process
// group, and kills the whole group when the command times out, when ctx
// ends, and after the command exits, so that no background process it
// started outlives the action.
//
// It isolates nothing: the command sees the host and runs as the worker's
// user. A process that leaves the group on purpose (setsid) escapes it; the
// sandbox runner closes that hole with a PID namespace.
type ProcessRunner struct {
	// drainGrace bounds how long an escaped process may keep the output
	// pipes open after the group was killed.
	drainGrace time.Duration
}

// NewProcessRunner returns a ProcessRunner.
func NewProcessRunner() *ProcessRunner {
	return &ProcessRunner{drainGrace: 2 * time.Second}
}

// Run implements Runner.
func (r *ProcessRunner) Run(ctx context.Context, cmd *Command) (*Result, error) {
	if len(cmd.Args) == 0 {
		return nil, fmt.Errorf("%w: the command has no arguments", ErrCommandNotFound)
	}
	path, err := resolveExecutable(cmd.Args[0], cmd.WorkingDir, cmd.Env)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	stdout, err := newOutputPipe(cmd.Stdout)
	if err != nil {
		return nil, err
	}
	defer stdout.closeRead()
	stderr, err := newOutputPipe(cmd.Stderr)
	if err != nil {
		stdout.closeWrite()
		return nil, err
	}
	defer stderr.closeRead()

	c := &exec.Cmd{
		Path: path,
		Args: cmd.Args,
		// Non-nil even when empty: a nil Env would inherit the worker's.
		Env:    append(make([]string, 0, len(cmd.Env)), cmd.Env...),
		Dir:    cmd.WorkingDir,
		Stdout: stdout.w,
		Stderr: stderr.w,
		// Pdeathsig: if the worker dies (even by SIGKILL), the kernel kills
		// the action's top process, so a lost worker does not leave its
		// action running against a directory nobody will clean up. The
		// signal is tied to the thread that forks, hence the locked thread.
		// Descendants in other processes need the sandbox's PID namespace.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}
	start := time.Now()
	runtime.LockOSThread()
	err = c.Start()
	runtime.UnlockOSThread()
	// The child holds its own copies of the write ends; ours must go so
	// that the copiers see EOF once the child's are gone.
	stdout.closeWrite()
	stderr.closeWrite()
	if err != nil {
		return nil, classifyStartError(path, err)
	}
	stdout.startCopy()
	stderr.startCopy()

	pgid := c.Process.Pid
	group := &processGroup{pgid: pgid}
	exited := make(chan struct{})
	var timedOut atomic.Bool
	go func() {
		var deadline <-chan time.Time
		if cmd.Timeout > 0 {
			t := time.NewTimer(cmd.Timeout)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-exited:
		case <-deadline:
			timedOut.Store(true)
			group.kill()
		case <-ctx.Done():
			group.kill()
		}
	}()

	// Wait for the leader to exit without reaping it: while it is a
	// zombie its pid, and so the group id, cannot be reused, so the final
	// kill below cannot hit an unrelated process.
	waitErr := waitExitedNoReap(pgid)
	wall := time.Since(start)
	group.killAndSeal()
	close(exited)
	err = c.Wait()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return nil, fmt.Errorf("waiting for %s: %w", path, err)
	}
	if waitErr != nil {
		return nil, fmt.Errorf("waiting for %s: %w", path, waitErr)
	}
	drain(r.drainGrace, stdout, stderr)

	res := &Result{
		ExitCode: exitCode(c.ProcessState),
		TimedOut: timedOut.Load(),
		WallTime: wall,
		Usage:    usageOf(c.ProcessState),
	}
	if err := ctx.Err(); err != nil && !res.TimedOut {
		return res, err
	}
	return res, nil
}

// processGroup kills a process group until its leader is reaped.
type processGroup struct {
	mu     sync.Mutex
	pgid   int
	sealed bool
}

func (g *processGroup) kill() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.sealed {
		_ = syscall.Kill(-g.pgid, syscall.SIGKILL)
	}
}

// killAndSeal kills the group one last time and forbids later kills: the
// leader is about to be reaped and its pid may then be reused.
func (g *processGroup) killAndSeal() {
	g.mu.Lock()
	defer g.mu.Unlock()
	_ = syscall.Kill(-g.pgid, syscall.SIGKILL)
	g.sealed = true
}

func waitExitedNoReap(pid int) error {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return err
		}
	}
}

func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

func usageOf(ps *os.ProcessState) ResourceUsage {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return ResourceUsage{}
	}
	return ResourceUsage{
		UserCPU:   time.Duration(ru.Utime.Nano()),
		SystemCPU: time.Duration(ru.Stime.Nano()),
		// Linux reports ru_maxrss in KiB.
		MaxRSSBytes: ru.Maxrss * 1024,
	}
}

// classifyStartError tells a command the kernel refuses to run (the
// client's fault) from a worker that cannot start processes.
func classifyStartError(path string, err error) error {
	for _, errno := range []syscall.Errno{syscall.ENOENT, syscall.EACCES, syscall.ENOEXEC, syscall.ENOTDIR, syscall.ELOOP, syscall.EISDIR} {
		if errors.Is(err, errno) {
			return fmt.Errorf("%w: %s: %w", ErrNotExecutable, path, err)
		}
	}
	return fmt.Errorf("starting %s: %w", path, err)
}

// resolveExecutable finds the file arguments[0] names (checklist item 36),
// through the worker's own PATH when the action sets none.
func resolveExecutable(arg0, workDir string, env []string) (string, error) {
	p, err := argv0.Resolve(arg0, workDir, env, os.Getenv("PATH"), nil)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrCommandNotFound, err)
	}
	return p, nil
}

// outputPipe carries one output stream of the child to a writer. A writer
// that is already a file is handed to the child directly.
type outputPipe struct {
	dst  io.Writer
	r, w *os.File
	done chan struct{}
}

func newOutputPipe(dst io.Writer) (*outputPipe, error) {
	if dst == nil {
		dst = io.Discard
	}
	p := &outputPipe{dst: dst, done: make(chan struct{})}
	if f, ok := dst.(*os.File); ok {
		p.w = f
		close(p.done)
		return p, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating output pipe: %w", err)
	}
	p.r, p.w = r, w
	return p, nil
}

func (p *outputPipe) startCopy() {
	if p.r == nil {
		return
	}
	go func() {
		defer close(p.done)
		// A failing destination must not block the child: keep draining.
		if _, err := io.Copy(p.dst, p.r); err != nil {
			_, _ = io.Copy(io.Discard, p.r)
		}
	}()
}

func (p *outputPipe) closeWrite() {
	if p.r != nil && p.w != nil {
		p.w.Close()
	}
}

func (p *outputPipe) closeRead() {
	if p.r != nil {
		p.r.Close()
	}
}

// drain waits for the copiers to reach EOF. Only a process that escaped the
// group can hold a pipe open now; after grace its output is cut off.
func drain(grace time.Duration, pipes ...*outputPipe) {
	t := time.NewTimer(grace)
	defer t.Stop()
	for _, p := range pipes {
		select {
		case <-p.done:
		case <-t.C:
			for _, q := range pipes {
				q.closeRead()
			}
			for _, q := range pipes {
				<-q.done
			}
			return
		}
	}
}
