package scheduler

import (
	"context"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestItem41_WaitExecutionAfterStreamBreak(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	clientCtx, hangUp := context.WithCancel(ctx)
	_, first := e.queuedOperation(t, clientCtx, request(e.upload(t, spec{})))
	hangUp() // the client's stream breaks

	// The execution goes on without the client.
	w := e.worker("w1")
	l := w.lease(t, ctx)
	if l.GetOperationName() != first.GetName() {
		t.Fatalf("lease for %s, want %s", l.GetOperationName(), first.GetName())
	}

	wait, err := e.exec.WaitExecution(ctx, &repb.WaitExecutionRequest{Name: first.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	now, err := wait.Recv() // answered at once, before completion
	if err != nil {
		t.Fatal(err)
	}
	if now.GetDone() || stageOf(t, now) != repb.ExecutionStage_EXECUTING || now.GetName() != first.GetName() {
		t.Errorf("first WaitExecution message: done %v stage %v name %s", now.GetDone(), stageOf(t, now), now.GetName())
	}
	w.complete(t, ctx, l, success(0, "survived"))
	ops, err := collect(wait)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(response(t, ops[len(ops)-1]).GetResult().GetStdoutRaw()); got != "survived" {
		t.Errorf("result %q", got)
	}

	// Finished operations stay visible for the retention period only.
	again, _ := e.exec.WaitExecution(ctx, &repb.WaitExecutionRequest{Name: first.GetName()})
	if ops, err := collect(again); err != nil || len(ops) != 1 || !ops[0].GetDone() {
		t.Errorf("WaitExecution on a finished operation: %d ops, %v; want the final one at once", len(ops), err)
	}
	e.s.collectGarbage(ctx, time.Now().Add(e.s.opts.CompletedRetention+time.Second))
	expired, _ := e.exec.WaitExecution(ctx, &repb.WaitExecutionRequest{Name: first.GetName()})
	if _, err := collect(expired); status.Code(err) != codes.NotFound {
		t.Errorf("WaitExecution after retention: %v, want NOT_FOUND", err)
	}
}

func TestItem41_UnknownOperationsAreNotFound(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	_, op := e.queuedOperation(t, ctx, request(e.upload(t, spec{})))
	id, _ := operationIDFromName(op.GetName())
	for _, name := range []string{
		"", "garbage", "main/operations/0123456789abcdef0123456789abcdef",
		"other-instance/operations/" + id, // right ID under another instance
	} {
		s, err := e.exec.WaitExecution(ctx, &repb.WaitExecutionRequest{Name: name})
		if err == nil {
			_, err = collect(s)
		}
		if status.Code(err) != codes.NotFound {
			t.Errorf("WaitExecution(%q) = %v, want NOT_FOUND", name, err)
		}
		if _, err := e.ops.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: name}); status.Code(err) != codes.NotFound {
			t.Errorf("GetOperation(%q) = %v, want NOT_FOUND", name, err)
		}
	}
}

func TestItem42_GetOperation(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	_, op := e.queuedOperation(t, ctx, request(e.upload(t, spec{})))
	got, err := e.ops.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: op.GetName()})
	if err != nil || got.GetName() != op.GetName() || stageOf(t, got) != repb.ExecutionStage_QUEUED || got.GetDone() {
		t.Errorf("GetOperation = %v, %v", got, err)
	}
}

func TestItem42_UnimplementedMethods(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	if _, err := e.ops.ListOperations(ctx, &longrunningpb.ListOperationsRequest{}); status.Code(err) != codes.Unimplemented {
		t.Errorf("ListOperations: %v", err)
	}
	if _, err := e.ops.DeleteOperation(ctx, &longrunningpb.DeleteOperationRequest{Name: "x"}); status.Code(err) != codes.Unimplemented {
		t.Errorf("DeleteOperation: %v", err)
	}
	if _, err := e.ops.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: "x"}); status.Code(err) != codes.Unimplemented {
		t.Errorf("WaitOperation: %v", err)
	}
}

func TestItem42_CancelQueued(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	stream, op := e.queuedOperation(t, ctx, request(e.upload(t, spec{})))
	if _, err := e.ops.CancelOperation(ctx, &longrunningpb.CancelOperationRequest{Name: op.GetName()}); err != nil {
		t.Fatal(err)
	}
	ops, err := collect(stream)
	if err != nil {
		t.Fatal(err)
	}
	if st := response(t, ops[len(ops)-1]).GetStatus(); st.GetCode() != int32(codes.Canceled) {
		t.Errorf("status %v, want CANCELLED", st)
	}
	if l := e.worker("w1").poll(t, ctx); l != nil {
		t.Errorf("a cancelled action was handed out: %v", l)
	}
	// Cancelling again is harmless.
	if _, err := e.ops.CancelOperation(ctx, &longrunningpb.CancelOperationRequest{Name: op.GetName()}); err != nil {
		t.Errorf("second cancel: %v", err)
	}
}

func TestItem42_CancelExecuting(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	stream, op := e.queuedOperation(t, ctx, request(e.upload(t, spec{})))
	w := e.worker("w1")
	l := w.lease(t, ctx)
	if _, err := e.ops.CancelOperation(ctx, &longrunningpb.CancelOperationRequest{Name: op.GetName()}); err != nil {
		t.Fatal(err)
	}
	ops, err := collect(stream)
	if err != nil {
		t.Fatal(err)
	}
	if st := response(t, ops[len(ops)-1]).GetStatus(); st.GetCode() != int32(codes.Canceled) {
		t.Errorf("status %v, want CANCELLED", st)
	}
	if hb := w.heartbeat(t, ctx, l.GetLeaseId()); !slices.Equal(hb.GetAbandonLeaseIds(), []string{l.GetLeaseId()}) {
		t.Errorf("worker of a cancelled action: abandon %v, want its lease", hb.GetAbandonLeaseIds())
	}
	w.complete(t, ctx, l, success(0, "too late"))
	if got := e.operation(t, op.GetName()); got.Response.GetStatus().GetCode() != int32(codes.Canceled) {
		t.Errorf("a completion after cancel replaced the result: %v", got.Response)
	}
}
