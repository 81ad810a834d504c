package main_test

import (
	"errors"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/kilnbuild/kiln/internal/bazeltest"
	"github.com/kilnbuild/kiln/internal/kilntest"
)

// leaseDuration is the scheduler's lease in the worker-failure test: short,
// so that the lost action is handed out again soon after its worker died.
const leaseDuration = "3s"

// TestWorkerKilledMidAction runs the cluster as separate processes (the
// storage roles in one `kiln serve`, the scheduler in another, two `kiln
// worker`s), kills with SIGKILL the worker that runs Bazel's one slow
// action, and checks that the action is retried on the other worker once
// its lease expired and that the build succeeds as if nothing happened.
func TestWorkerKilledMidAction(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with Bazel; skipped in -short mode")
	}
	b := bazeltest.New(t)
	b.CopyWorkspace("remote")
	storage := kilntest.StartServe(t, []string{"cas", "actioncache"}, kilntest.Options{})
	scheduler := kilntest.StartServe(t, []string{"scheduler"}, kilntest.Options{
		Args: []string{"--cas=grpc://" + storage.Addr, "--lease-duration=" + leaseDuration},
	})
	remote := slices.Clip(append(bazeltest.RemoteExecutionOnly(),
		scheduler.RemoteExecutorFlag(), storage.RemoteCacheFlag()))
	workers := []*kilntest.Worker{
		kilntest.StartWorker(t, kilntest.WorkerOptions{Scheduler: scheduler.Addr, CAS: storage.Addr, Concurrency: 1}),
		kilntest.StartWorker(t, kilntest.WorkerOptions{Scheduler: scheduler.Addr, CAS: storage.Addr, Concurrency: 1}),
	}

	build := startBuild(b, append(remote, "//slow")...)
	i, err := awaitRunningAction(workers, build.done)
	if err != nil {
		res, berr := build.wait()
		t.Fatalf("%v (build: %v)\n%s", err, berr, res.Output)
	}
	victim, survivor := workers[i], workers[1-i]
	victim.Kill()
	t.Logf("killed worker %d (data dir %s) while it ran the action", victim.Pid(), victim.DataDir)
	checkLeftovers(t, victim.DataDir)
	// The lease expires, and the action runs again on the other worker.
	if _, err := awaitRunningAction([]*kilntest.Worker{survivor}, build.done); err != nil {
		res, berr := build.wait()
		t.Fatalf("the surviving worker: %v (build: %v)\n%s", err, berr, res.Output)
	}

	res, err := build.wait()
	if err != nil {
		t.Fatalf("build after its worker was killed: %v\n%s", err, res.Output)
	}
	requireAllRemote(t, "build //slow", res)
	requireFile(t, b.BinPath("slow/slow.txt"), func(data []byte) bool { return string(data) == "slow but done\n" })
	if survivor.Exited() {
		t.Errorf("the surviving worker exited:\n%s", survivor.Output())
	}
	// The scheduler retried the lost action itself: one execution ended,
	// in success. (Had it failed the action as lost, Bazel would have
	// sent it again and the build would pass all the same.)
	requireOneSuccessfulExecution(t, scheduler)
}

// backgroundBuild is a `bazel build` running while the test does other
// things.
type backgroundBuild struct {
	done chan struct{} // closed when the build ended
	res  bazeltest.Result
	err  error
}

// startBuild runs `bazel build flags...` in the background. bazeltest
// bounds the command's run time, so it always ends.
func startBuild(b *bazeltest.Bazel, flags ...string) *backgroundBuild {
	bb := &backgroundBuild{done: make(chan struct{})}
	go func() {
		defer close(bb.done)
		bb.res, bb.err = b.Run("build", flags...)
	}()
	return bb
}

func (bb *backgroundBuild) wait() (bazeltest.Result, error) {
	<-bb.done
	return bb.res, bb.err
}

// awaitRunningAction watches the workers' data directories until the
// command of an action runs in one of them (its process's working
// directory is there), and returns that worker's index. It gives up if the
// build ends first: then no worker was caught running it.
func awaitRunningAction(workers []*kilntest.Worker, buildDone <-chan struct{}) (int, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		for i, w := range workers {
			procs, err := kilntest.ProcessesIn(w.DataDir)
			if err != nil {
				return 0, err
			}
			if len(procs) > 0 {
				return i, nil
			}
		}
		select {
		case <-tick.C:
		case <-buildDone:
			return 0, errors.New("the build ended before a worker was seen running its action")
		}
	}
}

// checkLeftovers checks what the killed worker left running in its data
// directory. The action's top process must die with the worker (the
// process runner asks the kernel for that); its children cannot be reached
// without a PID namespace, so they are only reported, then killed so that
// they cannot touch what the test removes next.
func checkLeftovers(t *testing.T, dataDir string) {
	t.Helper()
	var procs []kilntest.ProcInfo
	// The kernel signals the top process as the worker dies; it may take
	// a moment to act on it. The bound is on a hang, not on speed.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		if procs, err = kilntest.ProcessesIn(dataDir); err != nil {
			t.Fatalf("looking for processes the killed worker left: %v", err)
		}
		if !slices.ContainsFunc(procs, kilntest.ProcInfo.Leader) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("the top process of the killed worker's action survived it: %v", procs)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(procs) > 0 {
		t.Logf("NOTE: the killed worker's action left %v running; the process runner cannot end "+
			"descendants of the action's top process once the worker is gone (a PID namespace could)", procs)
	}
	// Until none is left: a kill takes effect a moment after it is sent,
	// and a shell may start a child between scan and kill.
	deadline = time.Now().Add(30 * time.Second)
	for len(procs) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("processes %v keep running in %s", procs, dataDir)
		}
		for _, p := range procs {
			if err := syscall.Kill(p.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				t.Errorf("killing leftover process %v: %v", p, err)
			}
		}
		time.Sleep(50 * time.Millisecond)
		var err error
		if procs, err = kilntest.ProcessesIn(dataDir); err != nil {
			t.Fatal(err)
		}
	}
}
