package sandbox

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kilnbuild/kiln/worker"
	"github.com/kilnbuild/kiln/worker/cgroup"
)

// A fork bomb hits the process limit (RLIMIT_NPROC in the action's own
// user namespace, cgroups or not), then the timeout ends it and everything
// it forked; the runner goes on serving.
func TestForkBombIsBoundedAndEnded(t *testing.T) {
	inEachMode(t, Options{DefaultLimits: cgroup.Limits{Pids: 64}}, testForkBombIsBoundedAndEnded)
}

func testForkBombIsBoundedAndEnded(t *testing.T, r *Runner) {
	const limit = 64
	a := newAction(t)
	sleep, token := uniqueSleep(t)
	// The bomb's processes are copies of this bash: their command lines
	// hold the token too. exec keeps the command alive without a fork.
	script := `bomb() { bomb | bomb & }; bomb & exec ` + sleep
	done := make(chan outcome, 1)
	go func() {
		done <- a.run(t, t.Context(), r, &worker.Command{Args: []string{"bash", "-c", script}, Timeout: 2 * time.Second})
	}()
	most := 0
	var o outcome
	for sampling := true; sampling; {
		select {
		case o = <-done:
			sampling = false
		case <-time.After(20 * time.Millisecond):
			most = max(most, len(hostProcessesWith(t, token)))
		}
	}
	if o.err != nil || !o.res.TimedOut {
		t.Fatalf("result %+v, error %v; want timed out", o.res, o.err)
	}
	// The init and the command's own user namespace are not counted.
	if most == 0 || most > limit+1 {
		t.Errorf("the bomb had %d processes at most; the limit is %d", most, limit)
	}
	if pids := hostProcessesWith(t, token); len(pids) > 0 {
		t.Errorf("%d processes outlived the action", len(pids))
	}
	a.shell(t, r, "true", nil).ok(t)
}

// forkCount forks sleeping children until refused (200 at most) and
// prints how many it got.
const forkCount = `python3 -c '
import os, time
n = 0
while n < 200:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(10)
        os._exit(0)
    n += 1
print(n)'`

func TestPidsLimitAskedByTheAction(t *testing.T) {
	r := newTestRunner(t, Options{MaxLimits: cgroup.Limits{Pids: 100}})
	a := newAction(t)
	got, _ := strconv.Atoi(a.shell(t, r, forkCount, worker.Platform{"pids": {"20"}}).ok(t))
	if got == 0 || got >= 20 {
		t.Errorf("the action forked %d processes; it asked for 20 at most", got)
	}
	if o := a.shell(t, r, "true", worker.Platform{"pids": {"1000"}}); !errors.Is(o.err, worker.ErrBadPlatform) {
		t.Errorf("asking for more than the worker's maximum: %v", o.err)
	}
}

// newCgroupRunner returns a runner with cgroups, or skips the test where
// they cannot be used.
func newCgroupRunner(t *testing.T, opts Options) *Runner {
	t.Helper()
	if _, err := cgroup.Available(); err != nil {
		if os.Getenv("KILN_REQUIRE_CGROUP") == "1" {
			t.Fatal(err)
		}
		t.Skipf("cgroups unusable here: %v", err)
	}
	opts.CgroupParent = "kiln-sandbox-test" // fixed, not to leave one per test run
	r := newTestRunner(t, opts)
	if !r.cgroups {
		t.Skip("the runner does not use cgroups here")
	}
	return r
}

func TestMemoryLimitKillsAndSaysSo(t *testing.T) {
	r := newCgroupRunner(t, Options{DefaultLimits: cgroup.Limits{MemoryBytes: 64 << 20}})
	a := newAction(t)
	o := a.shell(t, r, "echo allocating; "+allocate(512), nil)
	if !errors.Is(o.err, worker.ErrLimitExceeded) || !strings.Contains(o.err.Error(), "memory limit of 64MiB") {
		t.Fatalf("result %+v, error %v; want ErrLimitExceeded naming the 64MiB limit", o.res, o.err)
	}
	if o.res == nil || o.res.ExitCode == 0 || o.stdout != "allocating\n" {
		t.Errorf("result %+v, stdout %q: want the failure and the output so far", o.res, o.stdout)
	}
	// Within the limit, fine; and the runner goes on serving.
	a.shell(t, r, allocate(16), nil).ok(t)
	if o := a.shell(t, r, allocate(32), worker.Platform{"memory": {"16MiB"}}); !errors.Is(o.err, worker.ErrLimitExceeded) {
		t.Errorf("an action asking for 16MiB and using 32: %v", o.err)
	}
}

// allocate is a command that fills mib MiB of memory.
func allocate(mib int) string {
	return fmt.Sprintf(`python3 -c 'x = b"x" * (%d << 20)'`, mib)
}
