package gvisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kilnbuild/kiln/worker/isolationpolicy"

	"github.com/kilnbuild/kiln/internal/config"
	"github.com/kilnbuild/kiln/worker"
	"github.com/kilnbuild/kiln/worker/cgroup"
)

// runscFailure starts the message `runsc run` prints, on its stderr (the
// command's), when it could not run the command; it then exits 128.
const runscFailure = "running container:"

// launch runs the bundle as container id and follows it to the end: the
// timeout and ctx kill the whole sandbox.
func (r *Runner) launch(ctx context.Context, id string, b bundle, req isolationpolicy.Request, cmd *worker.Command) (*worker.Result, error) {
	network := "none"
	if req.Network {
		network = "host"
	}
	c := r.runsc.runCommand(b.dir, id, network)
	var runscErr tailBuffer
	// Never hand runsc a file: gVisor writes to a donated regular file
	// at offsets of its own. Pipes keep the output in order.
	c.Stdout = writerOnly{orDiscard(cmd.Stdout)}
	c.Stderr = io.MultiWriter(orDiscard(cmd.Stderr), &runscErr)
	// Once runsc exited, nothing of the sandbox should hold the output
	// pipes; if something does, stop reading after this long.
	c.WaitDelay = r.killGrace

	var group *cgroup.Group
	if r.cgroups {
		limits := req.Limits
		if limits.Pids > 0 {
			limits.Pids += sandboxPids
		}
		g, err := cgroup.New(r.cgroupParent(), id, limits)
		if err != nil {
			return nil, fmt.Errorf("gvisor: creating the action's cgroup: %w", err)
		}
		group = g
	}
	started := false
	defer func() {
		// The cgroup first: once it is gone, nothing of the sandbox
		// runs, and runsc forgets a dead container quicker.
		if group != nil {
			if err := group.Destroy(); err != nil {
				r.opts.Logger.Warn("gvisor: removing an action's cgroup", "cgroup", group.String(), "err", err)
			}
		}
		if started {
			r.forget(id)
		}
	}()

	start := time.Now()
	var err error
	if group != nil {
		err = group.Start(c)
	} else {
		// Pdeathsig belongs to the forking thread.
		runtime.LockOSThread()
		err = c.Start()
		runtime.UnlockOSThread()
	}
	if err != nil {
		return nil, fmt.Errorf("gvisor: starting runsc: %w", err)
	}
	started = true

	var timedOut atomic.Bool
	exited := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		var deadline <-chan time.Time
		if cmd.Timeout > 0 {
			t := time.NewTimer(cmd.Timeout)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-exited:
			return
		case <-deadline:
			timedOut.Store(true)
		case <-ctx.Done():
		}
		r.stop(id, group, c, exited)
	}()

	waitErr := c.Wait()
	wall := time.Since(start)
	close(exited)
	watch.Wait()
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) && !errors.Is(waitErr, exec.ErrWaitDelay) {
		return nil, fmt.Errorf("gvisor: waiting for runsc: %w", waitErr)
	}

	res := &worker.Result{ExitCode: exitCode(c.ProcessState), TimedOut: timedOut.Load(), WallTime: wall, Usage: rusage(c.ProcessState)}
	if group != nil {
		if u, err := group.Usage(); err == nil {
			res.Usage = worker.ResourceUsage{UserCPU: u.UserCPU, SystemCPU: u.SystemCPU, MaxRSSBytes: u.PeakMemoryBytes}
		}
		if oom, err := group.OOMKilled(); err == nil && oom {
			return res, fmt.Errorf("%w: the action was killed for using more than its memory limit of %s (platform property %s; gVisor's own memory counts too)",
				worker.ErrLimitExceeded, config.ByteSize(group.Limits().MemoryBytes), cgroup.MemoryProperty)
		}
	}
	if err := ctx.Err(); err != nil && !res.TimedOut {
		return res, err
	}
	if !res.TimedOut && res.ExitCode == 128 {
		if msg := lastLine(runscErr.String()); strings.HasPrefix(msg, runscFailure) {
			return nil, fmt.Errorf("gvisor: runsc could not run the command: %s", msg)
		}
	}
	return res, nil
}

// cgroupParent is where the runner's action cgroups go: a child of
// Options.CgroupParent of its own, so that sweeping it at start cannot
// touch the cgroups of other runners under the same parent.
func (r *Runner) cgroupParent() string { return path.Join(r.opts.CgroupParent, "gvisor") }

// forget deletes the container, whatever became of it. Not with the
// action's ctx: it may have ended, and this must happen anyway.
func (r *Runner) forget(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), controlTimeout)
	defer cancel()
	if err := r.runsc.delete(ctx, id); err != nil && !strings.Contains(err.Error(), "does not exist") {
		r.opts.Logger.Debug("gvisor: deleting a container", "container", id, "err", err)
	}
}

// stop kills the sandbox: through its cgroup, which takes runsc, gVisor's
// sentry and gofer and the action's processes at once; else by asking
// runsc, and if that is not enough, by killing runsc, whose sandbox
// processes die with it.
func (r *Runner) stop(id string, group *cgroup.Group, c *exec.Cmd, exited <-chan struct{}) {
	if group != nil {
		err := group.Kill()
		if err == nil {
			return
		}
		r.opts.Logger.Warn("gvisor: killing an action's cgroup", "container", id, "err", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.killGrace)
	defer cancel()
	if err := r.runsc.kill(ctx, id); err != nil {
		r.opts.Logger.Debug("gvisor: runsc kill", "container", id, "err", err)
	}
	select {
	case <-exited:
	case <-ctx.Done():
		_ = c.Process.Kill()
	}
}

func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

func rusage(ps *os.ProcessState) worker.ResourceUsage {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return worker.ResourceUsage{}
	}
	return worker.ResourceUsage{UserCPU: time.Duration(ru.Utime.Nano()), SystemCPU: time.Duration(ru.Stime.Nano()), MaxRSSBytes: ru.Maxrss * 1024}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// writerOnly hides every method but Write, so that exec.Cmd makes a pipe
// even for an *os.File.
type writerOnly struct{ io.Writer }

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
