package redisstate

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/internal/redistest"
	"github.com/kilnbuild/kiln/scheduler"
)

// go-redis retries a command whose reply was lost, so every write must
// recognise its own retry. These tests send the same write twice.

func testState(t *testing.T) *State {
	t.Helper()
	srv := redistest.Start(t)
	s, err := New(context.Background(), srv.Client(t), Options{Prefix: "t:{" + rand.Text() + "}:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func queuedOp(key string) scheduler.Operation {
	id := rand.Text()
	now := time.Now()
	return scheduler.Operation{ID: id, Name: "operations/" + id, DedupKey: "dk-" + id, QueueKey: key,
		Stage: repb.ExecutionStage_QUEUED, CreatedAt: now, QueuedAt: now, EnqueuedAt: now}
}

func TestCreateRetryIsNotADuplicate(t *testing.T) {
	ctx := context.Background()
	s := testState(t)
	op := queuedOp("k")
	first, _, err := s.create(ctx, op, scheduler.JoinAny, "n1")
	if err != nil {
		t.Fatal(err)
	}
	again, joined, err := s.create(ctx, op, scheduler.JoinAny, "n1")
	if err != nil || joined || again.Version != first.Version || again.QueueSeq != first.QueueSeq {
		t.Errorf("retried create = v%d seq %d joined %v, %v; want the first result v%d seq %d",
			again.Version, again.QueueSeq, joined, err, first.Version, first.QueueSeq)
	}
	if _, _, err := s.create(ctx, op, scheduler.JoinAny, "n2"); err == nil {
		t.Errorf("a second Create of the same ID succeeded")
	}
	if st, _ := s.Stats(ctx); st.QueueLengths["k"] != 1 {
		t.Errorf("queue length = %d after a retried create, want 1", st.QueueLengths["k"])
	}
}

func TestCommitRetryIsNotAConflict(t *testing.T) {
	ctx := context.Background()
	s := testState(t)
	op, _, err := s.Create(ctx, queuedOp("k"), scheduler.JoinNone)
	if err != nil {
		t.Fatal(err)
	}
	next := op.Clone()
	next.LostWorkers = append(next.LostWorkers, "w1")
	first, ok, err := s.commit(ctx, &op, next, "n1")
	if err != nil || !ok {
		t.Fatalf("commit = %v, %v", ok, err)
	}
	again, ok, err := s.commit(ctx, &op, next, "n1")
	if err != nil || !ok || again.Version != first.Version {
		t.Errorf("retried commit = v%d ok %v, %v; want v%d, ok", again.Version, ok, err, first.Version)
	}
	if _, ok, _ := s.commit(ctx, &op, next, "n2"); ok {
		t.Errorf("a commit from a stale version succeeded")
	}
	got, _ := s.Get(ctx, op.ID)
	if got.Version != op.Version+1 || len(got.LostWorkers) != 1 {
		t.Errorf("stored v%d with %v, want v%d with one lost worker", got.Version, got.LostWorkers, op.Version+1)
	}
}

func TestClaimRetryHandsOutTheSameLease(t *testing.T) {
	ctx := context.Background()
	s := testState(t)
	a, _, _ := s.Create(ctx, queuedOp("k"), scheduler.JoinNone)
	b, _, _ := s.Create(ctx, queuedOp("k"), scheduler.JoinNone)
	req := scheduler.ClaimRequest{WorkerID: "w", Token: "tok", Expiry: time.Now().Add(time.Minute)}
	first, ok, err := s.Claim(ctx, []string{"k"}, req)
	if err != nil || !ok || first.ID != a.ID {
		t.Fatalf("Claim = %s %v, %v; want %s", first.ID, ok, err, a.ID)
	}
	again, ok, err := s.Claim(ctx, []string{"k"}, req)
	if err != nil || !ok || again.ID != a.ID || again.Attempt != 1 || again.Lease.ID != first.Lease.ID {
		t.Errorf("retried Claim = %s attempt %d lease %s, %v; want %s attempt 1 lease %s",
			again.ID, again.Attempt, again.Lease.ID, err, a.ID, first.Lease.ID)
	}
	if got, _ := s.Get(ctx, b.ID); !got.Queued() {
		t.Errorf("a retried claim took a second operation")
	}
}

func TestPruneWakesWaitersOfMissingOperations(t *testing.T) {
	ctx := context.Background()
	s := testState(t)
	live, _, _ := s.Create(ctx, queuedOp("k"), scheduler.JoinNone)
	gone, _ := s.OperationChanged(ctx, "never-existed")
	goneOut, _ := s.OutputChanged(ctx, "never-existed")
	kept, _ := s.OperationChanged(ctx, live.ID)
	keptOut, _ := s.OutputChanged(ctx, live.ID)
	if err := s.prune(ctx); err != nil {
		t.Fatal(err)
	}
	if !closed(gone) || !closed(goneOut) {
		t.Errorf("waiters of a missing operation still wait")
	}
	if closed(kept) || closed(keptOut) {
		t.Errorf("waiters of an existing operation were woken")
	}
}
