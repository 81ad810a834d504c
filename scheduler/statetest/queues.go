package statetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/scheduler"
)

func testClaimOrder(t *testing.T, s scheduler.State) {
	a1 := mustCreate(t, s, newOp("a", 5, repb.ExecutionStage_QUEUED))
	a2 := mustCreate(t, s, newOp("a", 0, repb.ExecutionStage_QUEUED))
	a3 := mustCreate(t, s, newOp("a", 5, repb.ExecutionStage_QUEUED))
	b1 := mustCreate(t, s, newOp("b", 0, repb.ExecutionStage_QUEUED))
	c1 := mustCreate(t, s, newOp("c", -1, repb.ExecutionStage_QUEUED))
	keys, err := s.QueueKeys(context.Background())
	slices.Sort(keys)
	if err != nil || !slices.Equal(keys, []string{"a", "b", "c"}) {
		t.Errorf("QueueKeys = %v, %v; want [a b c]", keys, err)
	}
	var order []string
	for {
		op, ok := claim(t, s, "a", "b")
		if !ok {
			break
		}
		order = append(order, op.ID)
	}
	if want := []string{a2.ID, b1.ID, a1.ID, a3.ID}; !slices.Equal(order, want) {
		t.Errorf("claim order = %v, want %v (priority, then FIFO; queue c not asked)", order, want)
	}
	if got := mustGet(t, s, c1.ID); !got.Queued() {
		t.Errorf("operation in an unasked queue was claimed")
	}
	keys, _ = s.QueueKeys(context.Background())
	if !slices.Equal(keys, []string{"c"}) {
		t.Errorf("QueueKeys after draining a and b = %v, want [c]", keys)
	}
}

func testClaimLeases(t *testing.T, s scheduler.State) {
	a := mustCreate(t, s, newOp("k", 0, repb.ExecutionStage_QUEUED))
	exp := t0.Add(time.Hour)
	op, ok, err := s.Claim(context.Background(), []string{"k"}, scheduler.ClaimRequest{WorkerID: "w1", Token: "tok", Expiry: exp})
	if err != nil || !ok {
		t.Fatalf("Claim = %v, %v", ok, err)
	}
	want := scheduler.Lease{ID: scheduler.LeaseID(a.ID, "tok"), WorkerID: "w1", Expiry: exp}
	if op.ID != a.ID || !op.Executing() || op.Attempt != 1 || op.Lease.ID != want.ID || op.Lease.WorkerID != "w1" || !op.Lease.Expiry.Equal(exp) {
		t.Errorf("claimed %+v, want EXECUTING attempt 1 under %+v", op, want)
	}
	if got := mustGet(t, s, a.ID); got.Lease.ID != want.ID || !got.Executing() || got.Version <= a.Version {
		t.Errorf("stored after claim: %+v", got)
	}
	if _, ok := claim(t, s, "k"); ok {
		t.Errorf("an operation was claimed twice")
	}
	if id, ok := scheduler.LeaseOperationID(op.Lease.ID); !ok || id != a.ID {
		t.Errorf("LeaseOperationID(%q) = %q, %v", op.Lease.ID, id, ok)
	}
}

func testRequeueKeepsPlace(t *testing.T, s scheduler.State) {
	a := mustCreate(t, s, newOp("k", 0, repb.ExecutionStage_QUEUED))
	if op, _ := claim(t, s, "k"); op.ID != a.ID {
		t.Fatalf("claimed %s, want %s", op.ID, a.ID)
	}
	b := mustCreate(t, s, newOp("k", 0, repb.ExecutionStage_QUEUED))
	mustUpdate(t, s, a.ID, func(op *scheduler.Operation) {
		op.Stage = repb.ExecutionStage_QUEUED
		op.Lease = scheduler.Lease{}
	})
	op, _ := claim(t, s, "k")
	if op.ID != a.ID || op.Attempt != 2 {
		t.Errorf("after requeue claimed %s attempt %d, want %s attempt 2 (before %s)", op.ID, op.Attempt, a.ID, b.ID)
	}
}

func testCompletedLeavesQueue(t *testing.T, s scheduler.State) {
	a := mustCreate(t, s, newOp("k", 0, repb.ExecutionStage_QUEUED))
	b := mustCreate(t, s, newOp("k", 0, repb.ExecutionStage_QUEUED))
	mustUpdate(t, s, a.ID, complete)
	if op, ok := claim(t, s, "k"); !ok || op.ID != b.ID {
		t.Errorf("claimed %s, %v; want %s (the completed one left the queue)", op.ID, ok, b.ID)
	}
	if keys, _ := s.QueueKeys(context.Background()); len(keys) != 0 {
		t.Errorf("QueueKeys = %v, want none", keys)
	}
}

func testQueuedBefore(t *testing.T, s scheduler.State) {
	old := newOp("k", 0, repb.ExecutionStage_QUEUED)
	mustCreate(t, s, old)
	young := newOp("k", 0, repb.ExecutionStage_QUEUED)
	young.QueuedAt = t0.Add(time.Hour)
	mustCreate(t, s, young)
	ids, err := s.QueuedBefore(context.Background(), "k", t0.Add(time.Minute))
	if err != nil || !slices.Equal(ids, []string{old.ID}) {
		t.Errorf("QueuedBefore = %v, %v; want [%s]", ids, err, old.ID)
	}
	if ids, _ := s.QueuedBefore(context.Background(), "other", t0.Add(time.Hour*2)); len(ids) != 0 {
		t.Errorf("QueuedBefore of an empty queue = %v", ids)
	}
}

func testExpiredLeases(t *testing.T, s scheduler.State) {
	ctx := context.Background()
	a := mustCreate(t, s, newOp("k", 0, repb.ExecutionStage_QUEUED))
	op, _ := claim(t, s, "k") // expires at t0+1m
	exp := op.Lease.Expiry
	if refs, _ := s.ExpiredLeases(ctx, exp.Add(-time.Second)); len(refs) != 0 {
		t.Errorf("ExpiredLeases before expiry = %v", refs)
	}
	refs, err := s.ExpiredLeases(ctx, exp)
	if err != nil || len(refs) != 1 || refs[0] != (scheduler.LeaseRef{OperationID: a.ID, LeaseID: op.Lease.ID}) {
		t.Errorf("ExpiredLeases at expiry = %v, %v", refs, err)
	}
	if err := s.RenewLease(ctx, a.ID, op.Lease.ID, op.Lease.WorkerID, exp.Add(time.Hour)); err != nil {
		t.Fatalf("RenewLease: %v", err)
	}
	if refs, _ := s.ExpiredLeases(ctx, exp); len(refs) != 0 {
		t.Errorf("renewed lease listed as expired: %v", refs)
	}
	mustUpdate(t, s, a.ID, complete)
	if refs, _ := s.ExpiredLeases(ctx, exp.Add(2*time.Hour)); len(refs) != 0 {
		t.Errorf("lease of a completed operation listed as expired: %v", refs)
	}
}

func testRenewLease(t *testing.T, s scheduler.State) {
	ctx := context.Background()
	a := mustCreate(t, s, newOp("k", 0, repb.ExecutionStage_QUEUED))
	op, _ := claim(t, s, "k")
	changed, _ := s.OperationChanged(ctx, a.ID)
	later := op.Lease.Expiry.Add(time.Hour)
	if err := s.RenewLease(ctx, a.ID, op.Lease.ID, op.Lease.WorkerID, later); err != nil {
		t.Fatalf("RenewLease: %v", err)
	}
	got := mustGet(t, s, a.ID)
	if !got.Lease.Expiry.Equal(later) {
		t.Errorf("expiry after renewal %v, want %v", got.Lease.Expiry, later)
	}
	if got.Version != op.Version || isClosed(changed) {
		t.Errorf("a renewal counted as a change (version %d -> %d)", op.Version, got.Version)
	}
	for name, args := range map[string][3]string{
		"another worker":  {a.ID, op.Lease.ID, "intruder"},
		"another lease":   {a.ID, scheduler.LeaseID(a.ID, "forged"), op.Lease.WorkerID},
		"wrong operation": {"nope", op.Lease.ID, op.Lease.WorkerID},
	} {
		err := s.RenewLease(ctx, args[0], args[1], args[2], later)
		if !errors.Is(err, scheduler.ErrLeaseNotHeld) && !errors.Is(err, scheduler.ErrNotFound) {
			t.Errorf("RenewLease by %s = %v, want ErrLeaseNotHeld or ErrNotFound", name, err)
		}
	}
	mustUpdate(t, s, a.ID, complete)
	if err := s.RenewLease(ctx, a.ID, op.Lease.ID, op.Lease.WorkerID, later); !errors.Is(err, scheduler.ErrLeaseNotHeld) {
		t.Errorf("RenewLease after completion = %v, want ErrLeaseNotHeld", err)
	}
}

func testWorkAvailable(t *testing.T, s scheduler.State) {
	ctx := context.Background()
	ch, err := s.WorkAvailable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, newOp("k", 0, repb.ExecutionStage_CACHE_CHECK))
	if isClosed(ch) {
		t.Errorf("WorkAvailable fired for an operation that is not queued")
	}
	a := mustCreate(t, s, newOp("k", 0, repb.ExecutionStage_QUEUED))
	waitClosed(t, ch, "WorkAvailable after Create QUEUED")
	claim(t, s, "k")
	ch, _ = s.WorkAvailable(ctx)
	mustUpdate(t, s, a.ID, func(op *scheduler.Operation) { op.Stage = repb.ExecutionStage_QUEUED })
	waitClosed(t, ch, "WorkAvailable after a requeue")
}

func testOperationChanged(t *testing.T, s scheduler.State) {
	ctx := context.Background()
	a := mustCreate(t, s, newOp("k", 0, repb.ExecutionStage_CACHE_CHECK))
	ch, err := s.OperationChanged(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	other := mustCreate(t, s, newOp("other", 0, repb.ExecutionStage_CACHE_CHECK))
	mustUpdate(t, s, other.ID, func(op *scheduler.Operation) { op.Stage = repb.ExecutionStage_QUEUED })
	if isClosed(ch) {
		t.Errorf("OperationChanged fired for a change of another operation")
	}
	mustUpdate(t, s, a.ID, func(op *scheduler.Operation) { op.Stage = repb.ExecutionStage_QUEUED })
	waitClosed(t, ch, "OperationChanged after Update")
	ch, _ = s.OperationChanged(ctx, a.ID)
	claim(t, s, "k")
	waitClosed(t, ch, "OperationChanged after Claim")
}

func testDeleteCompleted(t *testing.T, s scheduler.State) {
	ctx := context.Background()
	done := mustCreate(t, s, newOp("k", 0, repb.ExecutionStage_QUEUED))
	mustUpdate(t, s, done.ID, complete) // DoneAt t0
	pending := newOp("k", 0, repb.ExecutionStage_QUEUED)
	pending.CreatedAt = t0.Add(-time.Hour)
	mustCreate(t, s, pending)
	if n, err := s.DeleteCompleted(ctx, t0); err != nil || n != 0 {
		t.Errorf("DeleteCompleted(DoneAt) = %d, %v; want 0", n, err)
	}
	ch, _ := s.OperationChanged(ctx, done.ID)
	if n, err := s.DeleteCompleted(ctx, t0.Add(time.Second)); err != nil || n != 1 {
		t.Errorf("DeleteCompleted(after DoneAt) = %d, %v; want 1", n, err)
	}
	if _, err := s.Get(ctx, done.ID); !errors.Is(err, scheduler.ErrNotFound) {
		t.Errorf("deleted operation: Get = %v", err)
	}
	waitClosed(t, ch, "OperationChanged after deletion")
	if _, err := s.ReadOutput(ctx, done.ID, scheduler.Stdout, 0, 10); !errors.Is(err, scheduler.ErrNotFound) {
		t.Errorf("deleted operation: ReadOutput = %v", err)
	}
	mustGet(t, s, pending.ID)
}
