package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kilnbuild/kiln/worker"
	"github.com/kilnbuild/kiln/worker/isolationpolicy/isolationtest"
)

// newTestRunner returns a Runner, or skips the test where this host
// cannot build sandboxes (unless KILN_REQUIRE_SANDBOX=1).
func newTestRunner(t testing.TB, opts Options) *Runner {
	t.Helper()
	r, err := New(opts)
	if err != nil {
		if os.Getenv("KILN_REQUIRE_SANDBOX") == "1" {
			t.Fatal(err)
		}
		t.Skipf("no sandbox on this host: %v (KILN_REQUIRE_SANDBOX=1 makes this fail)", err)
	}
	return r
}

// syncBuffer collects output written by the runner's copiers.
type syncBuffer = isolationtest.SyncBuffer

// action is one prepared action directory; the tests run commands in it.
type action struct{ isolationtest.Action }

func newAction(t testing.TB) action { return action{isolationtest.NewAction(t)} }

// outcome is what one run gave.
type outcome struct {
	res            *worker.Result
	err            error
	stdout, stderr string
}

// shell runs `sh -c script` in a's input root.
func (a action) shell(t testing.TB, r worker.Runner, script string, platform worker.Platform) outcome {
	t.Helper()
	return a.run(t, context.Background(), r, &worker.Command{
		Args: []string{"sh", "-c", script}, Platform: platform, Timeout: time.Minute,
	})
}

func (a action) run(t testing.TB, ctx context.Context, r worker.Runner, cmd *worker.Command) outcome {
	t.Helper()
	var stdout, stderr syncBuffer
	cmd.RootDir = a.Root
	if cmd.WorkingDir == "" {
		cmd.WorkingDir = a.Root
	}
	if cmd.Env == nil {
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
	}
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	res, err := r.Run(ctx, cmd)
	return outcome{res: res, err: err, stdout: stdout.String(), stderr: stderr.String()}
}

// ok fails t unless the run exited 0, and returns its stdout.
func (o outcome) ok(t testing.TB) string {
	t.Helper()
	if o.err != nil {
		t.Fatalf("run: %v (stderr %q)", o.err, o.stderr)
	}
	if o.res.ExitCode != 0 {
		t.Fatalf("exit code %d, stdout %q, stderr %q", o.res.ExitCode, o.stdout, o.stderr)
	}
	return strings.TrimSpace(o.stdout)
}

// hostProcessesWith lists the pids of host processes whose command line
// holds token.
func hostProcessesWith(t testing.TB, token string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.Contains(string(b), token) && e.Name() != strconv.Itoa(os.Getpid()) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// uniqueSleep is a sleep command line that no other process has: sleep
// takes fractions of seconds.
func uniqueSleep(t testing.TB) (cmd, token string) {
	token = fmt.Sprintf("1000.%d%d", os.Getpid(), time.Now().UnixNano()%1e9)
	return "sleep " + token, token
}

// inEachMode runs test with a runner without cgroups (the command in a
// user namespace of its own) and, where cgroups can be used, with them
// (the command simply runs as the sandbox user when the worker is root).
func inEachMode(t *testing.T, opts Options, test func(t *testing.T, r *Runner)) {
	t.Run("no-cgroups", func(t *testing.T) { test(t, newTestRunner(t, opts)) })
	t.Run("cgroups", func(t *testing.T) { test(t, newCgroupRunner(t, opts)) })
}
