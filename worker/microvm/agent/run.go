package agent

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kilnbuild/kiln/internal/argv0"
	"github.com/kilnbuild/kiln/worker/microvm/guestproto"
)

// defaultPath is the PATH for resolving arguments[0] when the action sets
// none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// runAction runs r and reports how it ended; every failure is in the Done.
func runAction(c *conn, r *guestproto.Run) *guestproto.Done {
	fail := func(kind string, err error) *guestproto.Done {
		return &guestproto.Done{Failure: kind, Message: err.Error()}
	}
	if r.UnixNano > 0 {
		tv := unix.NsecToTimeval(r.UnixNano)
		_ = unix.Settimeofday(&tv)
	}
	in, err := deviceBySerial(r.InputSerial)
	if err != nil {
		return fail(guestproto.FailureInternal, err)
	}
	out, err := deviceBySerial(r.OutputSerial)
	if err != nil {
		return fail(guestproto.FailureInternal, err)
	}
	for _, dev := range []string{in, out} {
		if err := flushDevice(dev); err != nil {
			return fail(guestproto.FailureInternal, err)
		}
	}
	root := filepath.Clean("/" + r.RootDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fail(guestproto.FailureInternal, err)
	}
	// noinit_itable: the kernel would otherwise zero the inode tables
	// mkfs left for later, filling the sparse disk file with zeros.
	if err := unix.Mount(in, root, "ext4", unix.MS_NOATIME, "noinit_itable"); err != nil {
		return fail(guestproto.FailureInternal, fmt.Errorf("mounting the input root: %w", err))
	}
	// mkfs.ext4 always makes one; the action must see its input root
	// exactly as the worker laid it out.
	if !r.KeepLostFound {
		_ = os.Remove(filepath.Join(root, "lost+found"))
	}
	before, err := scanTree(root)
	if err != nil {
		return fail(guestproto.FailureInternal, err)
	}

	done := execute(c, r)
	killEverything()
	if done.Failure != "" {
		return done
	}

	after, err := scanTree(root)
	if err != nil {
		return fail(guestproto.FailureOutputs, err)
	}
	changed, removed := diffTrees(before, after)
	n, err := writeOutputs(out, root, changed)
	if err != nil {
		return fail(guestproto.FailureOutputs, err)
	}
	done.OutputBytes = n
	done.Removed = removed
	return done
}

// execute runs the command and streams its output.
func execute(c *conn, r *guestproto.Run) *guestproto.Done {
	if len(r.Args) == 0 {
		return &guestproto.Done{Failure: guestproto.FailureNotFound, Message: "the command has no arguments"}
	}
	path, kind, err := resolve(r.Args[0], r.WorkingDir, r.Env)
	if err != nil {
		return &guestproto.Done{Failure: kind, Message: err.Error()}
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return &guestproto.Done{Failure: guestproto.FailureInternal, Message: err.Error()}
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return &guestproto.Done{Failure: guestproto.FailureInternal, Message: err.Error()}
	}
	cmd := &exec.Cmd{
		Path:   path,
		Args:   r.Args,
		Env:    append(make([]string, 0, len(r.Env)), r.Env...),
		Dir:    r.WorkingDir,
		Stdout: outW,
		Stderr: errW,
		// Its own group and session, as on the worker, so that the
		// action's job control cannot reach the agent.
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	start := time.Now()
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		kind := guestproto.FailureInternal
		for _, errno := range []syscall.Errno{syscall.ENOENT, syscall.EACCES, syscall.ENOEXEC, syscall.ENOTDIR, syscall.ELOOP, syscall.EISDIR} {
			if errors.Is(err, errno) {
				kind = guestproto.FailureNotExecutable
			}
		}
		return &guestproto.Done{Failure: kind, Message: fmt.Sprintf("%s: %v", path, err)}
	}
	var wg sync.WaitGroup
	for _, s := range []struct {
		r    *os.File
		kind guestproto.Kind
	}{{outR, guestproto.KindStdout}, {errR, guestproto.KindStderr}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.r.Close()
			pump(c, s.r, s.kind)
		}()
	}
	_ = cmd.Wait()
	wall := time.Since(start)
	// Whatever the command left running would hold the pipes open.
	killEverything()
	wg.Wait()

	ps := cmd.ProcessState
	d := &guestproto.Done{ExitCode: ps.ExitCode(), WallNano: int64(wall)}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		d.ExitCode = 128 + int(ws.Signal())
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru != nil {
		d.UserNano = ru.Utime.Nano()
		d.SysNano = ru.Stime.Nano()
		d.MaxRSS = ru.Maxrss * 1024
	}
	return d
}

// pump sends what r yields as frames of kind k.
func pump(c *conn, r io.Reader, k guestproto.Kind) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if c.send(k, buf[:n]) != nil {
				_, _ = io.Copy(io.Discard, r)
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// killEverything kills every process but the agent (PID 1) and reaps them.
func killEverything() {
	_ = unix.Kill(-1, unix.SIGKILL)
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if pid <= 0 || err == unix.ECHILD {
			return
		}
	}
}

// resolve finds arguments[0] as the worker's runners do (checklist item
// 36), through defaultPath when the action sets no PATH.
func resolve(arg0, workDir string, env []string) (string, string, error) {
	p, err := argv0.Resolve(arg0, workDir, env, defaultPath, nil)
	if err != nil {
		return "", guestproto.FailureNotFound, err
	}
	return p, "", nil
}
