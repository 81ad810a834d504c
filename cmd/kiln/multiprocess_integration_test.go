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

// TestWorkerKilledMidAction runs the cluster as separate processes (one
// `kiln serve` with every role, two `kiln worker`s), kills with SIGKILL the
// worker that runs Bazel's one slow action, and checks that the action is
// retried on the other worker once its lease expired and that the build
// succeeds as if nothing happened.
func TestWorkerKilledMidAction(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with Bazel; skipped in -short mode")
	}
	b := bazeltest.New(t)
	b.CopyWorkspace("remote")
	server := kilntest.StartServe(t, []string{"cas", "actioncache", "scheduler"},
		kilntest.Options{Args: []string{"--lease-duration=" + leaseDuration}})
	remote := slices.Clip(append(bazeltest.RemoteExecutionOnly(), server.RemoteExecutorFlag()))
	workers := []*kilntest.Worker{
		kilntest.StartWorker(t, kilntest.WorkerOptions{Scheduler: server.Addr, CAS: server.Addr, Concurrency: 1}),
		kilntest.StartWorker(t, kilntest.WorkerOptions{Scheduler: server.Addr, CAS: server.Addr, Concurrency: 1}),
	}

	build := startBuild(b, append(remote, "//slow")...)
	victim, survivor, err := awaitRunningAction(workers, build.done)
	if err != nil {
		res, berr := build.wait()
		t.Fatalf("%v (build: %v)\n%s", err, berr, res.Output)
	}
	victim.Kill()
	t.Logf("killed worker %d (data dir %s) while it ran the action", victim.Pid(), victim.DataDir)
	// The process runner puts each action in a process group of its own,
	// which the worker's death does not end: check and end what is left.
	reportLeftovers(t, victim.DataDir)

	res, err := build.wait()
	if err != nil {
		t.Fatalf("build after its worker was killed: %v\n%s", err, res.Output)
	}
	requireAllRemote(t, "build //slow", res)
	requireFile(t, b.BinPath("slow/slow.txt"), func(data []byte) bool { return string(data) == "slow but done\n" })
	if survivor.Exited() {
		t.Errorf("the surviving worker exited:\n%s", survivor.Output())
	}
	// Only the survivor can have finished the action: the victim died
	// while it ran, and the build needed the result.
	if v, ok := server.Metric(t, `kiln_scheduler_executions_total{result="success"}`); !ok || v != 1 {
		t.Errorf("scheduler counted %v successful executions (metric present: %v), want 1", v, ok)
	}
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

// awaitRunningAction watches the workers' action directories until one of
// them holds an action, and returns that worker and the other one. It
// gives up if the build ends first: then no worker was caught running it.
func awaitRunningAction(workers []*kilntest.Worker, buildDone <-chan struct{}) (running, idle *kilntest.Worker, err error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		for i, w := range workers {
			dirs, err := w.ActionDirs()
			if err != nil {
				return nil, nil, err
			}
			if len(dirs) > 0 {
				return w, workers[1-i], nil
			}
		}
		select {
		case <-tick.C:
		case <-buildDone:
			return nil, nil, errors.New("the build ended before any worker was seen running its action")
		}
	}
}

// reportLeftovers logs the processes still running in the killed worker's
// data directory, and kills them so that they cannot touch what the test
// removes next.
func reportLeftovers(t *testing.T, dataDir string) {
	t.Helper()
	pids, err := kilntest.ProcessesIn(dataDir)
	if err != nil {
		t.Logf("cannot look for processes the killed worker left: %v", err)
		return
	}
	if len(pids) == 0 {
		return
	}
	t.Logf("NOTE: the killed worker left %d processes of its action running (pids %v); "+
		"the process runner cannot end them once the worker is gone", len(pids), pids)
	// A few rounds: a shell may start a child between scan and kill.
	for round := 0; len(pids) > 0; round++ {
		if round == 5 {
			t.Fatalf("processes %v keep running in %s", pids, dataDir)
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				t.Errorf("killing leftover process %d: %v", pid, err)
			}
		}
		if pids, err = kilntest.ProcessesIn(dataDir); err != nil {
			t.Fatal(err)
		}
	}
}
