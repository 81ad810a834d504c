package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kilnbuild/kiln/worker/isolationpolicy"

	"github.com/kilnbuild/kiln/internal/config"
	"github.com/kilnbuild/kiln/worker"
	"github.com/kilnbuild/kiln/worker/cgroup"
	"github.com/kilnbuild/kiln/worker/sandbox/nsinit"
)

// launch runs act in a prepared sandbox and follows it to the end: the
// timeout and ctx kill the init, and with it everything in the sandbox.
// It removes act.TmpDir once the sandbox is gone, maybe after returning.
func (r *Runner) launch(ctx context.Context, act *nsinit.Action, req isolationpolicy.Request, stdout, stderr io.Writer, timeout time.Duration) (*worker.Result, error) {
	sp, err := r.sandboxFor(req)
	if err != nil {
		r.refill()
		return nil, errors.Join(err, os.RemoveAll(act.TmpDir))
	}
	group, err := r.limit(sp, req.Limits, act.Probe)
	if err != nil {
		sp.discard()
		r.refill()
		return nil, errors.Join(err, os.RemoveAll(act.TmpDir))
	}
	copied := []<-chan struct{}{copyOutput(orDiscard(stdout), sp.stdout), copyOutput(orDiscard(stderr), sp.stderr)}

	var killed atomic.Bool // by the timeout
	stopWatch := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		var deadline <-chan time.Time
		if timeout > 0 {
			t := time.NewTimer(timeout)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-stopWatch:
		case <-deadline:
			killed.Store(true)
			_ = sp.cmd.Process.Kill() // the whole PID namespace goes with it
		case <-ctx.Done():
			_ = sp.cmd.Process.Kill()
		}
	}()

	// A dead init makes the write fail, and the reports below say so.
	_ = json.NewEncoder(sp.spec).Encode(act)
	sp.spec.Close()
	var first, last nsinit.Report
	firstErr := sp.reports.Decode(&first)
	execStart := time.Now()
	var lastErr error = io.EOF
	if firstErr == nil && first.Stage == nsinit.StageStarted {
		lastErr = sp.reports.Decode(&last)
	}
	wall := time.Since(execStart)

	if lastErr == nil && last.Stage == nsinit.StageExited {
		// The init killed and reaped everything else before it said so:
		// the action is over. Its own exit and the removal of the cgroup
		// need not hold up the result.
		close(stopWatch)
		watch.Wait()
		drain(r.drainGrace, sp, copied)
		res := &worker.Result{ExitCode: last.ExitCode, WallTime: wall,
			Usage: worker.ResourceUsage{UserCPU: last.UserCPU, SystemCPU: last.SystemCPU, MaxRSSBytes: last.MaxRSSBytes}}
		oom := group != nil && oomKilled(group)
		go r.finish(sp, group, act.TmpDir)
		if oom {
			return res, r.oomError(group.Limits())
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		return res, nil
	}

	// The command never started, or the init died (killed, say): wait
	// for it; the kernel kills what is left in its PID namespace first.
	waitErr := sp.cmd.Wait()
	close(stopWatch)
	watch.Wait()
	drain(r.drainGrace, sp, copied)
	oom := group != nil && oomKilled(group)
	r.finish(sp, group, act.TmpDir)
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		return nil, fmt.Errorf("sandbox: waiting for the init: %w", waitErr)
	}
	switch {
	case firstErr == nil && first.Stage == nsinit.StageFailed:
		return nil, startError(first)
	case act.Probe && firstErr == nil && first.Stage == nsinit.StageExited:
		return &worker.Result{}, nil
	case firstErr != nil || first.Stage != nsinit.StageStarted:
		if !killed.Load() {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("sandbox: the init ended (%v) before starting the command", sp.cmd.ProcessState)
		}
		wall = 0 // killed while entering the sandbox: the command never ran
	}
	res := &worker.Result{ExitCode: exitCode(sp.cmd.ProcessState), TimedOut: killed.Load(), WallTime: wall}
	if oom {
		return res, r.oomError(group.Limits())
	}
	if err := ctx.Err(); err != nil && !res.TimedOut {
		return res, err
	}
	return res, nil
}

// finish reaps the init, removes its cgroup and the action's /tmp, and
// releases its pipes. Then, the sandbox that served it gone, it prepares
// another: not sooner, so as not to take CPU from the action's end.
func (r *Runner) finish(sp *sandboxProc, group *cgroup.Group, tmpDir string) {
	if sp.cmd.ProcessState == nil {
		_ = sp.cmd.Wait()
	}
	sp.close()
	if group != nil {
		if err := group.Destroy(); err != nil {
			r.opts.Logger.Warn("sandbox: removing an action's cgroup", "cgroup", group.String(), "err", err)
		}
	}
	if err := os.RemoveAll(tmpDir); err != nil {
		r.opts.Logger.Warn("sandbox: removing an action's /tmp", "dir", tmpDir, "err", err)
	}
	r.refill()
}

// refill prepares sandboxes to replace those taken.
func (r *Runner) refill() {
	if r.pool != nil {
		r.pool.fill()
	}
}

func oomKilled(g *cgroup.Group) bool {
	oom, err := g.OOMKilled()
	return err == nil && oom
}

// sandboxFor returns a prepared sandbox for req: a pooled one when it can.
func (r *Runner) sandboxFor(req isolationpolicy.Request) (*sandboxProc, error) {
	if !req.Network && r.pool != nil {
		if sp := r.pool.get(); sp != nil {
			if err := sp.awaitReady(); err == nil && sp.alive() {
				return sp, nil
			}
			// It died waiting (killed, say): prepare a fresh one.
			sp.discard()
		}
	}
	sp, err := r.startSandbox(req.Network)
	if err != nil {
		return nil, err
	}
	if err := sp.awaitReady(); err != nil {
		sp.discard()
		return nil, err
	}
	return sp, nil
}

// limit puts the sandbox in a cgroup of its own with limits, before the
// command exists: everything the command starts is born inside. The
// cgroup the sandbox was prepared in serves when its limits are the ones.
func (r *Runner) limit(sp *sandboxProc, limits cgroup.Limits, probe bool) (*cgroup.Group, error) {
	prepared := sp.group
	sp.group = nil
	if prepared != nil && prepared.Limits() == limits && !probe {
		return prepared, nil
	}
	if prepared != nil {
		// Emptied by the move below (or by the init's end).
		defer func() { go prepared.Destroy() }()
	}
	if !r.cgroups || probe {
		return nil, nil
	}
	group, err := r.newGroup(limits)
	if err != nil {
		return nil, err
	}
	if err := group.Add(sp.cmd.Process.Pid); err != nil {
		return nil, errors.Join(fmt.Errorf("sandbox: %w", err), group.Destroy())
	}
	return group, nil
}

// newGroup creates a cgroup for one action.
func (r *Runner) newGroup(limits cgroup.Limits) (*cgroup.Group, error) {
	name := fmt.Sprintf("sandbox-%s-%d", r.id, r.seq.Add(1))
	group, err := cgroup.New(r.opts.CgroupParent, name, limits)
	if err != nil {
		return nil, fmt.Errorf("sandbox: creating the action's cgroup: %w", err)
	}
	return group, nil
}

// copyOutput copies the command's output from src to dst; the channel
// closes at EOF. A failing dst must not block the command: the rest is
// drained.
func copyOutput(dst io.Writer, src *os.File) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := io.Copy(dst, src); err != nil {
			_, _ = io.Copy(io.Discard, src)
		}
	}()
	return done
}

// drain waits for the copiers to reach EOF, for grace at most: past it,
// closing the read ends cuts them off.
func drain(grace time.Duration, sp *sandboxProc, copied []<-chan struct{}) {
	t := time.NewTimer(grace)
	defer t.Stop()
	for _, done := range copied {
		select {
		case <-done:
		case <-t.C:
			sp.stdout.Close()
			sp.stderr.Close()
			for _, d := range copied {
				<-d
			}
			return
		}
	}
}

// startError turns the init's account of a command that could not start
// into the worker's errors.
func startError(rep nsinit.Report) error {
	switch rep.Kind {
	case nsinit.KindNotFound:
		return fmt.Errorf("%w: %s", worker.ErrCommandNotFound, rep.Error)
	case nsinit.KindNotExecutable:
		return fmt.Errorf("%w: %s", worker.ErrNotExecutable, rep.Error)
	default:
		return fmt.Errorf("sandbox: %s", rep.Error)
	}
}

// oomError says that the kernel killed the action for its memory use.
func (r *Runner) oomError(l cgroup.Limits) error {
	return fmt.Errorf("%w: the action was killed for using more than its memory limit of %s (platform property %s, or worker.sandbox.limits.memory)",
		worker.ErrLimitExceeded, config.ByteSize(l.MemoryBytes), cgroup.MemoryProperty)
}

func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// limitedBuffer keeps the first 4 KiB written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 4096 - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
