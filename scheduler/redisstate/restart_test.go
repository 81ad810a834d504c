package redisstate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	workerpb "github.com/kilnbuild/kiln/proto/kiln/worker/v1"
	"github.com/kilnbuild/kiln/scheduler"
)

// retryUnavailable calls fn until it returns something other than an
// unavailable error: the first commands after a restart may meet
// connections that died with the old server.
func retryUnavailable(t *testing.T, fn func() error) error {
	t.Helper()
	var err error
	for range 50 {
		if err = fn(); !errors.Is(err, scheduler.ErrUnavailable) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

func TestRedisDownIsUnavailableAndRestartForgets(t *testing.T) {
	ctx := context.Background()
	a, b, srv := replicas(t)
	op, _, err := a.Create(ctx, newQueued("k"), scheduler.JoinNone)
	if err != nil {
		t.Fatal(err)
	}
	watching, _ := b.OperationChanged(ctx, op.ID)
	polling, _ := b.WorkAvailable(ctx)

	srv.Stop()
	if _, err := a.Get(ctx, op.ID); !errors.Is(err, scheduler.ErrUnavailable) {
		t.Errorf("Get with Redis down = %v, want ErrUnavailable", err)
	}
	if _, _, err := a.Claim(ctx, []string{"k"}, scheduler.ClaimRequest{WorkerID: "w", Token: "t", Expiry: time.Now()}); !errors.Is(err, scheduler.ErrUnavailable) {
		t.Errorf("Claim with Redis down = %v, want ErrUnavailable", err)
	}
	if _, _, err := a.Create(ctx, newQueued("k"), scheduler.JoinAny); !errors.Is(err, scheduler.ErrUnavailable) {
		t.Errorf("Create with Redis down = %v, want ErrUnavailable", err)
	}

	srv.Restart() // no persistence: everything is gone
	err = retryUnavailable(t, func() error { _, err := a.Get(ctx, op.ID); return err })
	if !errors.Is(err, scheduler.ErrNotFound) {
		t.Errorf("Get after Redis lost its data = %v, want ErrNotFound", err)
	}
	// Messages published while B was disconnected are lost, so B wakes
	// everyone once it is subscribed again: nobody hangs on a signal that
	// will never come.
	waitFor(t, watching, "B's watcher after the restart")
	waitFor(t, polling, "B's poller after the restart")

	// B's subscription works again: new work reaches its pollers.
	polling, _ = b.WorkAvailable(ctx)
	err = retryUnavailable(t, func() error { _, _, err := a.Create(ctx, newQueued("k"), scheduler.JoinNone); return err })
	if err != nil {
		t.Fatalf("Create after the restart: %v", err)
	}
	waitFor(t, polling, "B's poller, for work queued after the restart")
}

func TestSchedulerSurvivesRedisRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := newCluster(t, 2, nil)
	a, b := c.replicas[0], c.replicas[1]
	d := c.uploadAction(t, 1)

	// Queued on A, nobody polling; a client waits on B.
	stream, err := a.exec.Execute(ctx, executeRequest(d))
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	wait, err := b.exec.WaitExecution(ctx, &repb.WaitExecutionRequest{Name: first.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wait.Recv(); err != nil {
		t.Fatalf("WaitExecution's first answer: %v", err)
	}

	c.redis.Stop()
	_, err = a.gw.Poll(ctx, &workerpb.PollRequest{Worker: &workerpb.WorkerInfo{WorkerId: "w"}})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("Poll with Redis down = %v, want UNAVAILABLE", err)
	}
	_, err = executeToEnd(ctx, b.exec, d)
	if status.Code(err) != codes.Unavailable {
		t.Errorf("Execute with Redis down = %v, want UNAVAILABLE", err)
	}

	c.redis.Restart()
	// Open streams end instead of hanging; the operation is gone, so
	// Bazel's WaitExecution gets NOT_FOUND and it calls Execute again.
	if _, err := finalResponse(wait); status.Code(err) != codes.NotFound && status.Code(err) != codes.Unavailable {
		t.Errorf("open WaitExecution after the restart = %v, want NOT_FOUND (or UNAVAILABLE, then NOT_FOUND)", err)
	}
	if _, err := finalResponse(stream); status.Code(err) != codes.NotFound && status.Code(err) != codes.Unavailable {
		t.Errorf("open Execute after the restart = %v, want NOT_FOUND (or UNAVAILABLE)", err)
	}
	var waitErr error
	for range 50 {
		w, err := b.exec.WaitExecution(ctx, &repb.WaitExecutionRequest{Name: first.GetName()})
		if err == nil {
			_, err = w.Recv()
		}
		if waitErr = err; status.Code(err) != codes.Unavailable {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status.Code(waitErr) != codes.NotFound {
		t.Errorf("WaitExecution after the restart = %v, want NOT_FOUND", waitErr)
	}

	// Execute again works end to end: a worker polling B gets the work
	// queued through A.
	go func() {
		for ctx.Err() == nil {
			resp, err := b.gw.Poll(ctx, &workerpb.PollRequest{Worker: &workerpb.WorkerInfo{WorkerId: "w", Capacity: 1}})
			if l := resp.GetLease(); err == nil && l != nil {
				b.gw.Complete(ctx, &workerpb.CompleteRequest{WorkerId: "w", LeaseId: l.GetLeaseId(), ExecuteResponse: resultFor(l)})
				return
			}
		}
	}()
	var resp *repb.ExecuteResponse
	for range 50 {
		if resp, err = executeToEnd(ctx, a.exec, d); status.Code(err) != codes.Unavailable {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || string(resp.GetResult().GetStdoutRaw()) != d.Hash {
		t.Errorf("Execute after the restart = %v, %v; want the action's result", resp, err)
	}
}
