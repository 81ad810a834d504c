package main_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kilnbuild/kiln/internal/bazeltest"
)

// failoverBuildLimit bounds each build of the failover test: a cluster
// that does not recover must fail the test, not hang it.
const failoverBuildLimit = 3 * time.Minute

// slowMarker is in the command line of testdata/remote's //slow, which
// sleeps 12 s: long enough to break things while it runs.
const slowMarker = "sleep 12"

// TestFarmSurvivesSchedulerKillAndRedisRestart runs a farm as separate
// processes (Redis, a GCS emulator, 2 CAS nodes sharding one bucket with
// disk tiers and the action cache in Redis, 2 scheduler replicas on Redis,
// 3 workers), all reached through load balancers. A real Bazel builds
// testdata/remote with remote execution through them:
//
//  1. While //slow runs, the scheduler replica holding Bazel's Execute
//     stream is killed with SIGKILL. Bazel reconnects to the other
//     replica, which knows the operation from Redis: the build succeeds
//     and //slow ran once only.
//  2. The killed replica comes back; after a clean, everything is built
//     again (--noremote_accept_cached) and Redis restarts, empty, while
//     //slow runs. Operations in flight are lost and retried; the build
//     succeeds within a bound.
func TestFarmSurvivesSchedulerKillAndRedisRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with Bazel; skipped in -short mode")
	}
	b := bazeltest.New(t)
	b.CopyWorkspace("remote")
	f := startFarm(t, farmSize{casNodes: 2, schedulers: 2, workers: 3, workerSlots: 2})
	remote := slices.Clip(f.bazelFlags())
	// Phases, not subtests: a farm process started in one (the replica
	// brought back) belongs to the whole test.
	buildWhileSchedulerKilled(t, b, f, remote)
	if t.Failed() {
		return
	}
	buildWhileRedisRestarts(t, b, f, remote)
}

// buildWhileSchedulerKilled is phase 1 of the failover test.
func buildWhileSchedulerKilled(t *testing.T, b *bazeltest.Bazel, f *farm, remote []string) {
	slow := watchAction(t, slowMarker, f.workers)
	build := startBuild(b, append(remote, "//...", "//slow")...)
	if err := slow.awaitRun(build); err != nil {
		res, berr := build.wait()
		t.Fatalf("%v (build: %v)\n%s", err, berr, res.Output)
	}
	victim := -1
	for i, s := range f.schedulers {
		if inFlightCalls(t, s, "Execute", "WaitExecution") > 0 {
			victim = i
			break
		}
	}
	if victim < 0 {
		t.Fatalf("//slow runs, but no scheduler replica has an Execute or WaitExecution call in flight")
	}
	killed, survivor := f.schedulers[victim], f.schedulers[1-victim]
	killed.Kill()
	t.Logf("killed scheduler replica %s, which held Bazel's stream, while //slow ran", killed.Addr)

	waitBuild(t, build, failoverBuildLimit, "the build whose scheduler replica was killed")
	requireAllRemote(t, "build //... //slow", build.res)
	requireFile(t, b.BinPath("slow/slow.txt"), func(data []byte) bool { return string(data) == "slow but done\n" })
	requireRemoteOutputs(t, b)
	slow.Stop()
	// The operation lived in Redis, not in the killed replica: the
	// survivor finished it. A replica that kept it to itself would
	// answer NOT_FOUND and Bazel would run //slow a second time.
	if runs, err := slow.Runs(); runs != 1 || err != nil {
		t.Errorf("//slow ran %d times (%v), want once: the operation should have outlived its replica", runs, err)
	}
	if survivor.Exited() {
		t.Errorf("the surviving replica exited:\n%s", survivor.Output())
	}
	if total := f.schedLB.Total(); total[survivor.Addr] == 0 || total[killed.Addr] == 0 {
		t.Errorf("connections per scheduler replica: %v, want both used", total)
	}
	f.schedulers[victim] = f.startScheduler(killed.Addr) // back, at its old address
}

// buildWhileRedisRestarts is phase 2 of the failover test.
func buildWhileRedisRestarts(t *testing.T, b *bazeltest.Bazel, f *farm, remote []string) {
	b.Clean()
	slow := watchAction(t, slowMarker, f.workers)
	build := startBuild(b, append(remote, "--noremote_accept_cached", "//...", "//slow")...)
	if err := slow.awaitRun(build); err != nil {
		res, berr := build.wait()
		t.Fatalf("%v (build: %v)\n%s", err, berr, res.Output)
	}
	f.redis.Restart() // without persistence: every operation, lease and queue is gone
	t.Log("restarted Redis while //slow ran")

	waitBuild(t, build, failoverBuildLimit, "the build across a Redis restart")
	requireAllRemote(t, "build --noremote_accept_cached //... //slow", build.res)
	requireFile(t, b.BinPath("slow/slow.txt"), func(data []byte) bool { return string(data) == "slow but done\n" })
	requireRemoteOutputs(t, b)
	slow.Stop()
	// Redis forgot the running //slow (it keeps nothing across a
	// restart here): its lease was abandoned or its completion ignored,
	// and Bazel had it run again. Once means the restart missed it.
	if runs, err := slow.Runs(); runs < 2 || err != nil {
		t.Errorf("//slow ran %d times (%v), want a retry after Redis lost it", runs, err)
	}

	// The replicas keep their state in the restarted Redis again.
	keys, err := f.redis.Client(t).Keys(context.Background(), "kiln:{scheduler}:op:*").Result()
	if err != nil || len(keys) == 0 {
		t.Errorf("operations in Redis after the build: %d, %v; want the build's", len(keys), err)
	}
	for _, s := range f.schedulers {
		if s.Exited() {
			t.Errorf("scheduler replica %s exited:\n%s", s.Addr, s.Output())
		}
	}
}
