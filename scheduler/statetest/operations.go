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

func testCreateAndGet(t *testing.T, s scheduler.State) {
	op := newOp("k", 3, repb.ExecutionStage_CACHE_CHECK)
	op.Platform = scheduler.Platform{{Name: "os", Value: "linux"}}
	created := mustCreate(t, s, op)
	if created.Version == 0 {
		t.Errorf("created operation has Version 0")
	}
	got := mustGet(t, s, op.ID)
	if got.Name != op.Name || got.Action != op.Action || got.Priority != 3 || got.Stage != op.Stage ||
		!slices.Equal(got.Platform, op.Platform) || !got.CreatedAt.Equal(t0) || got.Timeout != time.Minute {
		t.Errorf("Get = %+v, want %+v", got, op)
	}
	if _, err := s.Get(context.Background(), "nope"); !errors.Is(err, scheduler.ErrNotFound) {
		t.Errorf("Get(unknown) = %v, want ErrNotFound", err)
	}
	if _, _, err := s.Create(context.Background(), op, scheduler.JoinNone); err == nil {
		t.Errorf("Create of an existing ID succeeded")
	}
	got.Platform[0].Value = "changed"
	if again := mustGet(t, s, op.ID); again.Platform[0].Value != "linux" {
		t.Errorf("changing a returned operation changed the stored one")
	}
}

func withKey(op scheduler.Operation, key string) scheduler.Operation {
	op.DedupKey = key
	return op
}

func testJoinAny(t *testing.T, s scheduler.State) {
	ctx := context.Background()
	a := withKey(newOp("k", 0, repb.ExecutionStage_CACHE_CHECK), "same")
	if _, joined, err := s.Create(ctx, a, scheduler.JoinAny); err != nil || joined {
		t.Fatalf("first Create: joined %v, %v", joined, err)
	}
	b := withKey(newOp("k", 0, repb.ExecutionStage_CACHE_CHECK), "same")
	got, joined, err := s.Create(ctx, b, scheduler.JoinAny)
	if err != nil || !joined || got.ID != a.ID {
		t.Fatalf("second Create = %s joined %v, %v; want to join %s", got.ID, joined, err, a.ID)
	}
	if _, err := s.Get(ctx, b.ID); !errors.Is(err, scheduler.ErrNotFound) {
		t.Errorf("a joined operation was stored too")
	}
	c := withKey(newOp("k", 0, repb.ExecutionStage_CACHE_CHECK), "other")
	if _, joined, _ := s.Create(ctx, c, scheduler.JoinAny); joined {
		t.Errorf("an operation with another DedupKey joined")
	}
}

func testJoinStarted(t *testing.T, s scheduler.State) {
	a := withKey(newOp("k", 0, repb.ExecutionStage_CACHE_CHECK), "same")
	mustCreateJoin(t, s, a, scheduler.JoinAny, false, a.ID)
	// Checking the cache: a skip_cache_lookup request must not merge.
	b := withKey(newOp("k", 0, repb.ExecutionStage_QUEUED), "same")
	mustCreateJoin(t, s, b, scheduler.JoinStarted, false, b.ID)
	// The in-flight operation is still a.
	c := withKey(newOp("k", 0, repb.ExecutionStage_CACHE_CHECK), "same")
	mustCreateJoin(t, s, c, scheduler.JoinAny, true, a.ID)
	mustUpdate(t, s, a.ID, func(op *scheduler.Operation) { op.Stage = repb.ExecutionStage_QUEUED })
	d := withKey(newOp("k", 0, repb.ExecutionStage_QUEUED), "same")
	mustCreateJoin(t, s, d, scheduler.JoinStarted, true, a.ID)
}

func mustCreateJoin(t *testing.T, s scheduler.State, op scheduler.Operation, join scheduler.JoinPolicy, wantJoined bool, wantID string) {
	t.Helper()
	got, joined, err := s.Create(context.Background(), op, join)
	if err != nil || joined != wantJoined || got.ID != wantID {
		t.Fatalf("Create(%s, policy %d) = %s joined %v, %v; want %s joined %v", op.ID, join, got.ID, joined, err, wantID, wantJoined)
	}
}

func testJoinNone(t *testing.T, s scheduler.State) {
	a := withKey(newOp("k", 0, repb.ExecutionStage_QUEUED), "same")
	mustCreateJoin(t, s, a, scheduler.JoinNone, false, a.ID)
	b := withKey(newOp("k", 0, repb.ExecutionStage_QUEUED), "same")
	mustCreateJoin(t, s, b, scheduler.JoinAny, false, b.ID)
	c := withKey(newOp("k", 0, repb.ExecutionStage_QUEUED), "same")
	mustCreateJoin(t, s, c, scheduler.JoinNone, false, c.ID)
}

func testCompletionEndsDedup(t *testing.T, s scheduler.State) {
	a := withKey(newOp("k", 0, repb.ExecutionStage_QUEUED), "same")
	mustCreateJoin(t, s, a, scheduler.JoinAny, false, a.ID)
	mustUpdate(t, s, a.ID, complete)
	b := withKey(newOp("k", 0, repb.ExecutionStage_QUEUED), "same")
	mustCreateJoin(t, s, b, scheduler.JoinAny, false, b.ID)
	// An operation created completed (a cache hit) is never joined.
	c := withKey(newOp("k", 0, repb.ExecutionStage_COMPLETED), "other")
	mustCreateJoin(t, s, c, scheduler.JoinAny, false, c.ID)
	d := withKey(newOp("k", 0, repb.ExecutionStage_QUEUED), "other")
	mustCreateJoin(t, s, d, scheduler.JoinAny, false, d.ID)
}

func testCompletedStaysCompleted(t *testing.T, s scheduler.State) {
	a := mustCreate(t, s, newOp("k", 0, repb.ExecutionStage_QUEUED))
	done := mustUpdate(t, s, a.ID, complete)
	_, err := s.Update(context.Background(), a.ID, func(op *scheduler.Operation) error {
		op.Stage = repb.ExecutionStage_QUEUED
		return nil
	})
	if !errors.Is(err, scheduler.ErrCompleted) {
		t.Errorf("reopening a completed operation: err %v, want ErrCompleted", err)
	}
	if got := mustGet(t, s, a.ID); !got.Done() || got.Version != done.Version {
		t.Errorf("completed operation changed: %+v", got)
	}
	if _, ok := claim(t, s, "k"); ok {
		t.Errorf("a completed operation was claimed")
	}
}

func testUpdateError(t *testing.T, s scheduler.State) {
	a := mustCreate(t, s, newOp("k", 0, repb.ExecutionStage_QUEUED))
	boom := errors.New("boom")
	got, err := s.Update(context.Background(), a.ID, func(op *scheduler.Operation) error {
		op.Stage = repb.ExecutionStage_COMPLETED
		return boom
	})
	if !errors.Is(err, boom) || got.Stage != repb.ExecutionStage_QUEUED {
		t.Errorf("Update returning an error = %v, stage %v; want boom, QUEUED", err, got.Stage)
	}
	if got := mustGet(t, s, a.ID); got.Stage != repb.ExecutionStage_QUEUED || got.Version != a.Version {
		t.Errorf("failed Update changed the operation: %+v", got)
	}
	if _, err := s.Update(context.Background(), "nope", func(*scheduler.Operation) error { return nil }); !errors.Is(err, scheduler.ErrNotFound) {
		t.Errorf("Update(unknown) = %v, want ErrNotFound", err)
	}
}

func testUpdateKeepsImmutable(t *testing.T, s scheduler.State) {
	a := mustCreate(t, s, newOp("k", 0, repb.ExecutionStage_QUEUED))
	got := mustUpdate(t, s, a.ID, func(op *scheduler.Operation) {
		op.QueueKey, op.Priority, op.Name, op.DedupKey = "other", 9, "x", "y"
		op.Attempt = 7
	})
	if got.QueueKey != "k" || got.Priority != 0 || got.Name != a.Name || got.DedupKey != a.DedupKey {
		t.Errorf("Update changed immutable fields: %+v", got)
	}
	if got.Attempt != 7 || got.Version <= a.Version {
		t.Errorf("Update lost mutable fields: Attempt %d Version %d (was %d)", got.Attempt, got.Version, a.Version)
	}
}
