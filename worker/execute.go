package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/codes"

	"github.com/kilnbuild/kiln/actioncache"
	"github.com/kilnbuild/kiln/internal/digest"
	workerpb "github.com/kilnbuild/kiln/proto/kiln/worker/v1"
)

// errAbandoned is the cause of an action's cancellation when the scheduler
// takes its lease back.
var errAbandoned = errors.New("the scheduler abandoned the lease")

// execution is one leased action going through the pipeline: inputs, run,
// outputs, action cache.
type execution struct {
	a      *Agent
	lease  *workerpb.Lease
	log    *slog.Logger
	tl     timeline
	dir    string // the action's directory; removed at the end
	action digest.Digest
}

// execute runs the leased action and returns the response to complete it
// with, or nil when ctx ended first (abandoned, or the worker stops): then
// nobody completes the lease.
func (a *Agent) execute(ctx context.Context, l *workerpb.Lease) *repb.ExecuteResponse {
	e := &execution{a: a, lease: l, log: a.log.With("lease", l.GetLeaseId(), "operation", l.GetOperationName())}
	e.tl.workerStart = time.Now()
	if qt := l.GetQueuedTime(); qt != nil {
		e.tl.queued = qt.AsTime()
	}
	resp := e.run(ctx)
	if ctx.Err() != nil {
		e.log.Info("action stopped", "cause", context.Cause(ctx))
		return nil
	}
	return resp
}

func (e *execution) run(ctx context.Context) *repb.ExecuteResponse {
	fn, err := digest.Resolve(digest.Function(e.lease.GetDigestFunction()), e.lease.GetActionHash())
	if err == nil {
		e.action, err = digest.New(fn, e.lease.GetActionHash(), e.lease.GetActionSizeBytes())
	}
	if err != nil {
		return e.fail(invalidArgument("lease names no valid action digest: %v", err))
	}
	e.log = e.log.With("action", e.action.String())

	if err := e.makeDir(); err != nil {
		return e.fail(err)
	}
	defer func() {
		if err := removeAllForce(e.dir); err != nil {
			e.log.Warn("removing action directory", "dir", e.dir, "err", err)
		}
	}()
	rootDir := filepath.Join(e.dir, "root")

	e.tl.fetchStart = time.Now()
	action, command, workRel, outputs, err := e.prepare(ctx, rootDir)
	e.tl.fetchDone = time.Now()
	e.a.m.stageSeconds.WithLabelValues("input_fetch").Observe(e.tl.fetchDone.Sub(e.tl.fetchStart).Seconds())
	if err != nil {
		return e.fail(err)
	}

	stdoutPath, stderrPath := filepath.Join(e.dir, "stdout"), filepath.Join(e.dir, "stderr")
	res, runErr := e.runCommand(ctx, action, command, rootDir, workRel, stdoutPath, stderrPath)
	if ctx.Err() != nil {
		return nil
	}
	if runErr != nil && res == nil {
		if errors.Is(runErr, ErrCommandNotFound) || errors.Is(runErr, ErrNotExecutable) || errors.Is(runErr, ErrBadPlatform) {
			runErr = invalidArgument("%v", runErr)
		}
		return e.fail(runErr)
	}

	e.tl.uploadStart = time.Now()
	result := &repb.ActionResult{ExitCode: int32(res.ExitCode)}
	var resultErr error
	collector := &outputCollector{rootDir: rootDir, workRel: workRel, fn: e.action.Function,
		allowAbsoluteSymlinks: e.a.opts.AllowAbsoluteSymlinks, result: result}
	if res.TimedOut {
		// Only the logs: outputs of a killed action are not worth
		// storing (checklist item 28).
		resultErr = &actionError{code: codes.DeadlineExceeded,
			msg: fmt.Sprintf("the action timed out after %s and was killed", e.lease.GetTimeout().AsDuration())}
	} else if errors.Is(runErr, ErrLimitExceeded) {
		// Killed for its memory, say: only the logs, as for a timeout.
		resultErr = &actionError{code: codes.ResourceExhausted, msg: runErr.Error()}
	} else {
		resultErr = collector.collect(outputs)
	}
	uploads := collector.uploads
	for _, lg := range []struct {
		path string
		set  func(*repb.Digest)
	}{
		{stdoutPath, func(d *repb.Digest) { result.StdoutDigest = d }},
		{stderrPath, func(d *repb.Digest) { result.StderrDigest = d }},
	} {
		d, err := hashFile(e.action.Function, lg.path)
		if err != nil {
			return e.fail(fmt.Errorf("reading the action's log: %w", err))
		}
		lg.set(d.Proto())
		uploads = append(uploads, blobSource{d: d, path: lg.path})
	}
	if resultErr != nil {
		// A failed collection stores no outputs, only the logs.
		result.OutputFiles, result.OutputDirectories, result.OutputSymlinks = nil, nil, nil
		result.OutputFileSymlinks, result.OutputDirectorySymlinks = nil, nil //nolint:staticcheck // pre-v2.1 clients
		uploads = uploads[len(collector.uploads):]
	}
	if err := uploadBlobs(ctx, e.a.opts.CAS, e.a.opts.FetchConcurrency, uploads); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return e.fail(err)
	}
	e.tl.uploadDone = time.Now()
	e.a.m.stageSeconds.WithLabelValues("output_upload").Observe(e.tl.uploadDone.Sub(e.tl.uploadStart).Seconds())
	e.tl.workerDone = time.Now()
	result.ExecutionMetadata = e.tl.metadata(e.a.opts.WorkerID)

	resp := &repb.ExecuteResponse{Result: result, Status: statusOf(resultErr)}
	if resultErr != nil {
		resp.Message = resultErr.Error()
	}
	if resultErr == nil && res.ExitCode == 0 && !e.lease.GetDoNotCache() && !action.GetDoNotCache() {
		k := actioncache.Key{Instance: e.lease.GetInstanceName(), Action: e.action}
		if err := e.a.opts.ActionCache.Put(ctx, k, result); err != nil {
			// The result stands; it just will not be a cache hit.
			e.log.Warn("writing the action cache", "err", err)
		}
	}
	e.log.Debug("action done", "exit_code", res.ExitCode, "timed_out", res.TimedOut,
		"wall", res.WallTime, "user_cpu", res.Usage.UserCPU, "system_cpu", res.Usage.SystemCPU,
		"max_rss_bytes", res.Usage.MaxRSSBytes, "status", resp.GetStatus().GetCode())
	return resp
}

// prepare fetches the action and lays out its input root.
func (e *execution) prepare(ctx context.Context, rootDir string) (*repb.Action, *repb.Command, string, []outputRequest, error) {
	in := e.a.inputs
	action, command, rootDigest, err := in.fetchAction(ctx, e.action)
	if err != nil {
		return nil, nil, "", nil, err
	}
	tree, err := in.fetchTree(ctx, rootDigest)
	if err != nil {
		return nil, nil, "", nil, err
	}
	if err := in.materialize(ctx, tree, rootDir); err != nil {
		return nil, nil, "", nil, err
	}
	workRel, err := prepareWorkingDir(rootDir, command)
	if err != nil {
		return nil, nil, "", nil, err
	}
	outputs, err := outputsOf(command)
	if err != nil {
		return nil, nil, "", nil, err
	}
	if err := createOutputParents(rootDir, workRel, outputs); err != nil {
		return nil, nil, "", nil, err
	}
	return action, command, workRel, outputs, nil
}

// runCommand runs the command with its output in two log files, published
// live as it comes.
func (e *execution) runCommand(ctx context.Context, action *repb.Action, command *repb.Command, rootDir, workRel, stdoutPath, stderrPath string) (*Result, error) {
	stdout, err := os.OpenFile(stdoutPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	stderr, err := os.OpenFile(stderrPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	live := startLivePublisher(ctx, e.a.opts.Gateway, e.lease.GetLeaseId(), e.log)

	env := make([]string, 0, len(command.GetEnvironmentVariables()))
	for _, ev := range command.GetEnvironmentVariables() {
		env = append(env, ev.GetName()+"="+ev.GetValue())
	}
	e.tl.execStart = time.Now()
	res, err := e.a.opts.Runner.Run(ctx, &Command{
		Args:       command.GetArguments(),
		Env:        env,
		RootDir:    rootDir,
		WorkingDir: within(rootDir, workRel),
		Stdout:     &logWriter{f: stdout, stream: workerpb.OutputChunk_STDOUT, live: live},
		Stderr:     &logWriter{f: stderr, stream: workerpb.OutputChunk_STDERR, live: live},
		Timeout:    e.lease.GetTimeout().AsDuration(),
		Platform:   actionPlatform(action, command),
	})
	e.tl.execDone = time.Now()
	live.close()
	if res != nil {
		e.tl.virtualExecution = res.WallTime
	}
	e.a.m.stageSeconds.WithLabelValues("execution").Observe(e.tl.execDone.Sub(e.tl.execStart).Seconds())
	return res, err
}

// fail is the response for an action that could not run or whose result
// could not be stored.
func (e *execution) fail(err error) *repb.ExecuteResponse {
	st := statusOf(err)
	e.log.Info("action failed", "code", codes.Code(st.GetCode()), "err", err)
	return &repb.ExecuteResponse{Status: st, Message: st.GetMessage()}
}

// makeDir creates the action's private directory under DataDir/actions.
func (e *execution) makeDir() error {
	name := e.lease.GetLeaseId()
	if checkName(name) != nil || len(name) > 128 {
		sum := sha256.Sum256([]byte(name))
		name = hex.EncodeToString(sum[:16])
	}
	base := filepath.Join(e.a.opts.DataDir, "actions", name)
	dir := base
	for i := 1; ; i++ {
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("creating the action directory: %w", err)
		}
		dir = fmt.Sprintf("%s.%d", base, i)
	}
	e.dir = dir
	if err := os.Mkdir(filepath.Join(dir, "root"), 0o755); err != nil {
		return fmt.Errorf("creating the input root: %w", err)
	}
	return nil
}

// removeAllForce removes dir even where the action took away write
// permission from its directories.
func removeAllForce(dir string) error {
	if err := os.RemoveAll(dir); err == nil {
		return nil
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
