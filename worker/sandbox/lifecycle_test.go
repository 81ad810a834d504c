package sandbox

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kilnbuild/kiln/worker"
)

// helperEnv makes this test binary a worker that runs one sandboxed
// sleep with a sandbox kept ready, for TestEverythingDiesWithTheWorker.
const helperEnv = "KILN_SANDBOX_TEST_WORKER"

func TestHelperWorkerProcess(t *testing.T) {
	token := os.Getenv(helperEnv)
	if token == "" {
		t.Skip("a helper for TestEverythingDiesWithTheWorker")
	}
	r := newTestRunner(t, Options{Ready: 2})
	a := newAction(t)
	a.shell(t, r, "sleep "+token+" & sleep "+token, nil)
}

func TestEverythingDiesWithTheWorker(t *testing.T) {
	_, token := uniqueSleep(t)
	helper := exec.Command(os.Args[0], "-test.run=^TestHelperWorkerProcess$")
	helper.Env = append(os.Environ(), helperEnv+"="+token)
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	defer helper.Process.Kill()
	// Its action runs, and a sandbox is ready for the next.
	deadline := time.Now().Add(time.Minute)
	var inits []int
	for len(hostProcessesWith(t, token)) < 2 || len(inits) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the helper worker did not start its action and pool: %d sleeps, inits %v", len(hostProcessesWith(t, token)), inits)
		}
		time.Sleep(10 * time.Millisecond)
		inits = childrenOf(t, helper.Process.Pid)
	}
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		left := hostProcessesWith(t, token)
		for _, pid := range inits {
			if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
				left = append(left, strconv.Itoa(pid))
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes outlived their killed worker: %v", left)
		}
	}
}

// childrenOf lists the pids whose parent is pid.
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var kids []int
	for _, e := range entries {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, not ')'.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			n, _ := strconv.Atoi(e.Name())
			kids = append(kids, n)
		}
	}
	return kids
}

func TestReadySandboxesServeActionsAndClose(t *testing.T) {
	r := newTestRunner(t, Options{Ready: 2})
	a := newAction(t)
	for i := range 5 {
		if got := a.shell(t, r, "echo $((1+"+strconv.Itoa(i)+")); hostname", nil).ok(t); got != strconv.Itoa(1+i)+"\nsandbox" {
			t.Fatalf("run %d: stdout %q", i, got)
		}
	}
	waitPoolFull(t, r)
	r.mustClose(t)
	// Closed, it prepares sandboxes on demand.
	a.shell(t, r, "true", nil).ok(t)
}

func (r *Runner) mustClose(t *testing.T) {
	t.Helper()
	r.pool.mu.Lock()
	idle := append([]*sandboxProc(nil), r.pool.idle...)
	r.pool.mu.Unlock()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for _, sp := range idle {
		if sp.cmd.ProcessState == nil || !sp.cmd.ProcessState.Exited() && sp.cmd.ProcessState.ExitCode() != -1 {
			t.Errorf("a ready sandbox's init (pid %d) is still running after Close", sp.cmd.Process.Pid)
		}
	}
}

// A ready sandbox whose init died meanwhile is replaced, not used.
func TestDeadReadySandboxIsReplaced(t *testing.T) {
	r := newTestRunner(t, Options{Ready: 1})
	defer r.Close()
	waitPoolFull(t, r)
	r.pool.mu.Lock()
	victim := r.pool.idle[0]
	r.pool.mu.Unlock()
	_ = victim.cmd.Process.Kill()
	for victim.alive() {
		time.Sleep(time.Millisecond)
	}
	a := newAction(t)
	o := a.run(t, context.Background(), r, &worker.Command{Args: []string{"echo", "fine"}})
	if got := o.ok(t); got != "fine" {
		t.Errorf("stdout %q", got)
	}
}
