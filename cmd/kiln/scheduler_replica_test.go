package main_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/internal/kilntest"
	"github.com/kilnbuild/kiln/internal/redistest"
)

// TestOperationOutlivesTheReplicaThatCreatedIt runs two scheduler
// replicas on one Redis as separate processes. A client's Execute goes to
// replica A, and the only worker polls replica B; A is killed with SIGKILL
// right after it accepted the action, cutting the client's stream. The
// client's WaitExecution on B must return the action's result: the work
// A queued reached B's worker, and the operation outlived A.
func TestOperationOutlivesTheReplicaThatCreatedIt(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test of the kiln binary; skipped in -short mode")
	}
	rdb := redistest.Start(t)
	storage := kilntest.StartServe(t, []string{"cas", "actioncache"}, kilntest.Options{})
	replica := func() *kilntest.Server {
		return kilntest.StartServe(t, []string{"scheduler"}, kilntest.Options{Args: []string{
			"--cas=grpc://" + storage.Addr, "--scheduler-state=redis", "--redis=" + rdb.Addr(),
		}})
	}
	a, b := replica(), replica()
	kilntest.StartWorker(t, kilntest.WorkerOptions{Scheduler: b.Addr, CAS: storage.Addr, Concurrency: 1, Args: []string{"--runner=process"}})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := storage.Client()
	// Long enough to be running, or still queued, when A dies.
	action, err := client.UploadAction(ctx, &repb.Command{
		Arguments:            []string{"sh", "-c", "sleep 2 && printf 'run for A, finished through B' > out"},
		EnvironmentVariables: []*repb.Command_EnvironmentVariable{{Name: "PATH", Value: "/bin:/usr/bin"}},
		OutputPaths:          []string{"out"},
	}, &repb.Action{DoNotCache: true})
	if err != nil {
		t.Fatal(err)
	}

	stream, err := a.Client().Execution.Execute(ctx, &repb.ExecuteRequest{ActionDigest: action.Proto(), DigestFunction: repb.DigestFunction_SHA256})
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil {
		t.Fatalf("Execute through replica A: %v", err)
	}
	if first.GetDone() {
		t.Fatalf("the operation was done at once (%v); the test needs it in flight", first)
	}
	a.Kill()
	// Updates A sent before it died (QUEUED, EXECUTING) may still be in
	// flight; after them the stream must break, not end or finish.
	for {
		op, err := stream.Recv()
		if err == nil && !op.GetDone() {
			continue
		}
		if err == nil || errors.Is(err, io.EOF) {
			t.Fatalf("the Execute stream of the killed replica went on (%v, done=%v), want it broken", err, op.GetDone())
		}
		break
	}

	wait, err := b.Client().Execution.WaitExecution(ctx, &repb.WaitExecutionRequest{Name: first.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	var resp *repb.ExecuteResponse
	for resp == nil {
		op, err := wait.Recv()
		if err != nil {
			t.Fatalf("WaitExecution through replica B for %s, created by A: %v", first.GetName(), err)
		}
		if op.GetName() != first.GetName() {
			t.Errorf("WaitExecution answered with operation %s, want %s", op.GetName(), first.GetName())
		}
		if op.GetDone() {
			resp = &repb.ExecuteResponse{}
			if err := op.GetResponse().UnmarshalTo(resp); err != nil {
				t.Fatalf("the done operation holds no ExecuteResponse: %v", err)
			}
		}
	}
	if resp.GetStatus().GetCode() != 0 || resp.GetResult().GetExitCode() != 0 {
		t.Fatalf("result through B: status %v, exit code %d; want a success", resp.GetStatus(), resp.GetResult().GetExitCode())
	}
	files := resp.GetResult().GetOutputFiles()
	want := kilntest.Digest([]byte("run for A, finished through B"))
	if len(files) != 1 || files[0].GetPath() != "out" || files[0].GetDigest().GetHash() != want.Hash {
		t.Errorf("output files %v, want out with digest %s", files, want)
	}
}
