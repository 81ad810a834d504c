package scheduler

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	workerpb "github.com/kilnbuild/kiln/proto/kiln/worker/v1"
)

func TestLeaseExpiryRequeuesToAnotherWorker(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	stream, _ := e.queuedOperation(t, ctx, request(e.upload(t, spec{})))
	w1, w2 := e.worker("w1"), e.worker("w2")
	l1 := w1.lease(t, ctx)
	if l1.GetAttempt() != 1 {
		t.Errorf("first lease attempt %d, want 1", l1.GetAttempt())
	}
	waitStage(t, stream, repb.ExecutionStage_EXECUTING)

	// w1 goes silent past its lease.
	e.s.expireLeases(ctx, l1.GetExpireTime().AsTime())
	waitStage(t, stream, repb.ExecutionStage_QUEUED) // back to QUEUED on retry (item 26)

	l2 := w2.lease(t, ctx)
	if l2.GetOperationName() != l1.GetOperationName() || l2.GetAttempt() != 2 || l2.GetLeaseId() == l1.GetLeaseId() {
		t.Fatalf("second lease %v, want the same operation, attempt 2, a new lease", l2)
	}
	if !l2.GetQueuedTime().AsTime().Equal(l1.GetQueuedTime().AsTime()) {
		t.Errorf("retry changed the queued time from %v to %v", l1.GetQueuedTime().AsTime(), l2.GetQueuedTime().AsTime())
	}

	// w1 comes back: told to abandon, and its late result is ignored.
	hb := w1.heartbeat(t, ctx, l1.GetLeaseId())
	if !slices.Equal(hb.GetAbandonLeaseIds(), []string{l1.GetLeaseId()}) {
		t.Errorf("heartbeat of the lost worker: abandon %v, want [%s]", hb.GetAbandonLeaseIds(), l1.GetLeaseId())
	}
	w1.complete(t, ctx, l1, success(0, "late"))
	if hb := w2.heartbeat(t, ctx, l2.GetLeaseId()); len(hb.GetAbandonLeaseIds()) != 0 {
		t.Errorf("the late completion disturbed the current lease: abandon %v", hb.GetAbandonLeaseIds())
	}
	w2.complete(t, ctx, l2, success(0, "current"))
	ops, err := collect(stream)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(response(t, ops[len(ops)-1]).GetResult().GetStdoutRaw()); got != "current" {
		t.Errorf("result %q, want the current lease's", got)
	}
}

func TestLateCompletionAfterCompletionIsIgnored(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	stream, _ := e.queuedOperation(t, ctx, request(e.upload(t, spec{})))
	w := e.worker("w1")
	l := w.lease(t, ctx)
	w.complete(t, ctx, l, success(0, "first"))
	w.complete(t, ctx, l, success(1, "second")) // acknowledged, ignored
	ops, _ := collect(stream)
	if got := response(t, ops[len(ops)-1]); got.GetResult().GetExitCode() != 0 || string(got.GetResult().GetStdoutRaw()) != "first" {
		t.Errorf("result %v, want the first completion", got)
	}
	if op := e.operation(t, l.GetOperationName()); string(op.Response.GetResult().GetStdoutRaw()) != "first" {
		t.Errorf("stored result changed by a second completion")
	}
}

func TestHeartbeatRenewsLease(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	e.queuedOperation(t, ctx, request(e.upload(t, spec{})))
	w := e.worker("w1")
	l := w.lease(t, ctx)
	hb := w.heartbeat(t, ctx, l.GetLeaseId())
	first, renewed := l.GetExpireTime().AsTime(), hb.GetExpireTime().AsTime()
	if len(hb.GetAbandonLeaseIds()) != 0 || !renewed.After(first) {
		t.Skipf("clock did not advance between poll and heartbeat (%v, %v)", first, renewed)
	}
	e.s.expireLeases(ctx, first)
	if op := e.operation(t, l.GetOperationName()); !op.Executing() || op.Attempt != 1 {
		t.Errorf("a renewed lease expired at its old expiry: %+v", op)
	}
	e.s.expireLeases(ctx, renewed)
	if op := e.operation(t, l.GetOperationName()); !op.Queued() {
		t.Errorf("lease did not expire at its renewed expiry: stage %v", op.Stage)
	}
}

func TestPollRenewsHeldLeases(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	e.queuedOperation(t, ctx, request(e.upload(t, spec{})))
	w := e.worker("w1")
	l := w.lease(t, ctx)
	w.poll(t, ctx, l.GetLeaseId()) // times out empty, renewing l
	op := e.operation(t, l.GetOperationName())
	if !op.Lease.Expiry.After(l.GetExpireTime().AsTime()) {
		t.Skip("clock did not advance")
	}
	e.s.expireLeases(ctx, l.GetExpireTime().AsTime())
	if op := e.operation(t, l.GetOperationName()); !op.Executing() {
		t.Errorf("lease listed in a poll expired anyway")
	}
}

func TestLostTooOftenFailsUnavailable(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxAttempts = 2 })
	ctx := testCtx(t)
	stream, _ := e.queuedOperation(t, ctx, request(e.upload(t, spec{})))
	for _, id := range []string{"lost-a", "lost-b"} {
		l := e.worker(id).lease(t, ctx)
		e.s.expireLeases(ctx, l.GetExpireTime().AsTime())
	}
	ops, err := collect(stream)
	if err != nil {
		t.Fatal(err)
	}
	st := response(t, ops[len(ops)-1]).GetStatus()
	if st.GetCode() != int32(codes.Unavailable) || !strings.Contains(st.GetMessage(), "lost-a") || !strings.Contains(st.GetMessage(), "lost-b") {
		t.Errorf("status %v, want UNAVAILABLE naming both lost workers", st)
	}
	if l := e.worker("w3").poll(t, ctx); l != nil {
		t.Errorf("a failed action was handed out again")
	}
}

func TestItem39_PriorityThenFIFO(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	var want []string
	queue := func(priority int32) string {
		req := request(e.upload(t, spec{}))
		req.ExecutionPolicy = &repb.ExecutionPolicy{Priority: priority}
		_, op := e.queuedOperation(t, ctx, req)
		return op.GetName()
	}
	low := queue(5)
	normal1 := queue(0)
	urgent := queue(-3)
	normal2 := queue(0)
	want = []string{urgent, normal1, normal2, low}
	w := e.worker("w1")
	var got []string
	for range want {
		got = append(got, w.lease(t, ctx).GetOperationName())
	}
	if !slices.Equal(got, want) {
		t.Errorf("dispatch order %v, want %v", got, want)
	}
}

func TestItem40_QueuedTimestampAndWorker(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	stream, _ := e.queuedOperation(t, ctx, request(e.upload(t, spec{})))
	w := e.worker("w-named")
	l := w.lease(t, ctx)
	if l.GetQueuedTime() == nil || l.GetQueuedTime().AsTime().IsZero() {
		t.Fatalf("lease has no queued time")
	}
	partial := metadata(t, waitStage(t, stream, repb.ExecutionStage_EXECUTING)).GetPartialExecutionMetadata()
	if !partial.GetQueuedTimestamp().AsTime().Equal(l.GetQueuedTime().AsTime()) || partial.GetWorker() != "w-named" {
		t.Errorf("partial_execution_metadata while executing = %v, want the queued time and worker", partial)
	}
	w.complete(t, ctx, l, success(0, "")) // the worker leaves the metadata empty
	ops, _ := collect(stream)
	md := response(t, ops[len(ops)-1]).GetResult().GetExecutionMetadata()
	if !md.GetQueuedTimestamp().AsTime().Equal(l.GetQueuedTime().AsTime()) {
		t.Errorf("queued_timestamp %v, want the lease's %v", md.GetQueuedTimestamp().AsTime(), l.GetQueuedTime().AsTime())
	}
	if md.GetWorker() != "w-named" {
		t.Errorf("worker %q, want w-named", md.GetWorker())
	}
}

func TestCompleteRejectsMalformedRequests(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	e.queuedOperation(t, ctx, request(e.upload(t, spec{})))
	w := e.worker("w1")
	l := w.lease(t, ctx)
	notAResponse, _ := anypb.New(&repb.Digest{})
	okNoResult, _ := anypb.New(&repb.ExecuteResponse{})
	for name, req := range map[string]*workerpb.CompleteRequest{
		"no response":          {WorkerId: "w1", LeaseId: l.GetLeaseId()},
		"wrong type":           {WorkerId: "w1", LeaseId: l.GetLeaseId(), ExecuteResponse: notAResponse},
		"OK without a result":  {WorkerId: "w1", LeaseId: l.GetLeaseId(), ExecuteResponse: okNoResult},
		"malformed lease name": {WorkerId: "w1", LeaseId: "garbage", ExecuteResponse: okNoResult},
	} {
		if _, err := e.gw.Complete(ctx, req); status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s: got %v, want INVALID_ARGUMENT", name, err)
		}
	}
	if op := e.operation(t, l.GetOperationName()); !op.Executing() {
		t.Errorf("a rejected completion changed the operation: %v", op.Stage)
	}
	if _, err := e.gw.Poll(ctx, &workerpb.PollRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("Poll without a worker id: %v", err)
	}
}

func TestCloseEndsWaitingPolls(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.PollTimeout = time.Hour })
	ctx := testCtx(t)
	done := make(chan *workerpb.PollResponse)
	go func() {
		resp, _ := e.gw.Poll(ctx, &workerpb.PollRequest{Worker: &workerpb.WorkerInfo{WorkerId: "w"}})
		done <- resp
	}()
	// Wait until the poll registered, then close.
	for {
		ws, _ := e.s.state.LiveWorkers(ctx, time.Time{})
		if len(ws) == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	e.s.Close()
	select {
	case resp := <-done:
		if resp.GetLease() != nil {
			t.Errorf("poll returned a lease: %v", resp)
		}
	case <-ctx.Done():
		t.Fatal("Close left a poll waiting")
	}
}

func TestWorkerRegistryRecordsPolls(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.worker("w1", offer("os", "linux")).poll(t, ctx)
	ws, _ := e.s.state.LiveWorkers(ctx, time.Now().Add(-time.Minute))
	if len(ws) != 1 || ws[0].ID != "w1" || len(ws[0].Offers) != 1 || ws[0].Offers[0] != (Property{"os", "linux"}) {
		t.Errorf("registry = %+v", ws)
	}
}
