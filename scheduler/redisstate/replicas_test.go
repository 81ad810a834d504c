package redisstate_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/internal/redistest"
	"github.com/kilnbuild/kiln/scheduler"
	"github.com/kilnbuild/kiln/scheduler/redisstate"
)

// Two States on one Redis and prefix stand for two scheduler replicas.
func replicas(t *testing.T) (a, b *redisstate.State, srv *redistest.Server) {
	srv = redistest.Start(t)
	prefix := uniquePrefix()
	a = newState(t, srv, redisstate.Options{Prefix: prefix})
	b = newState(t, srv, redisstate.Options{Prefix: prefix})
	return a, b, srv
}

func newQueued(key string) scheduler.Operation {
	id := rand.Text()
	now := time.Now()
	return scheduler.Operation{ID: id, Name: "operations/" + id, DedupKey: "dk-" + id, QueueKey: key,
		Stage: repb.ExecutionStage_QUEUED, CreatedAt: now, QueuedAt: now, EnqueuedAt: now}
}

// waitFor fails if ch is not closed soon; the bound only guards against a
// hang, since pub/sub takes a moment.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: never signalled", what)
	}
}

func TestWorkQueuedOnOneReplicaWakesPollersOfAnother(t *testing.T) {
	ctx := context.Background()
	a, b, _ := replicas(t)
	work, _ := b.WorkAvailable(ctx)
	// B finds the queue empty first, and must not trust that later.
	if _, ok, err := b.Claim(ctx, []string{"k"}, scheduler.ClaimRequest{WorkerID: "w", Token: "t0", Expiry: time.Now()}); ok || err != nil {
		t.Fatalf("B claimed from an empty queue: %v, %v", ok, err)
	}
	op, _, err := a.Create(ctx, newQueued("k"), scheduler.JoinNone)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, work, "B's WorkAvailable after A queued")
	keys, _ := b.QueueKeys(ctx)
	got, ok, err := b.Claim(ctx, keys, scheduler.ClaimRequest{WorkerID: "w", Token: "t", Expiry: time.Now().Add(time.Minute)})
	if err != nil || !ok || got.ID != op.ID {
		t.Fatalf("B claimed %s %v, %v; want %s", got.ID, ok, err, op.ID)
	}
	if _, ok, _ := a.Claim(ctx, keys, scheduler.ClaimRequest{WorkerID: "w2", Token: "t2", Expiry: time.Now()}); ok {
		t.Errorf("A claimed the operation B holds")
	}
}

func TestChangesOnOneReplicaWakeWatchersOfAnother(t *testing.T) {
	ctx := context.Background()
	a, b, _ := replicas(t)
	op, _, _ := a.Create(ctx, newQueued("k"), scheduler.JoinNone)
	changed, _ := b.OperationChanged(ctx, op.ID)
	output, _ := b.OutputChanged(ctx, op.ID)
	if err := a.AppendOutput(ctx, op.ID, scheduler.Stdout, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, output, "B's OutputChanged after A appended")
	if r, err := b.ReadOutput(ctx, op.ID, scheduler.Stdout, 0, 100); err != nil || string(r.Data) != "hello" {
		t.Errorf("B reads %q, %v; want hello", r.Data, err)
	}
	if _, err := a.Update(ctx, op.ID, func(o *scheduler.Operation) error {
		o.Stage = repb.ExecutionStage_COMPLETED
		o.Response = &repb.ExecuteResponse{Message: "done"}
		o.DoneAt = time.Now()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, changed, "B's OperationChanged after A completed the operation")
	got, err := b.Get(ctx, op.ID)
	if err != nil || !got.Done() || got.Response.GetMessage() != "done" {
		t.Errorf("B sees %+v, %v; want the completed operation", got, err)
	}
}

func TestDedupAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	a, b, _ := replicas(t)
	first := newQueued("k")
	first.DedupKey = "same-action"
	second := newQueued("k")
	second.DedupKey = "same-action"
	if _, joined, err := a.Create(ctx, first, scheduler.JoinAny); err != nil || joined {
		t.Fatalf("A: Create = joined %v, %v", joined, err)
	}
	got, joined, err := b.Create(ctx, second, scheduler.JoinAny)
	if err != nil || !joined || got.ID != first.ID {
		t.Errorf("B: Create = %s joined %v, %v; want to join %s", got.ID, joined, err, first.ID)
	}
}

func TestPrefixesIsolate(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	a := newState(t, srv, redisstate.Options{})
	b := newState(t, srv, redisstate.Options{})
	work, _ := b.WorkAvailable(ctx)
	op, _, _ := a.Create(ctx, newQueued("k"), scheduler.JoinNone)
	if keys, _ := b.QueueKeys(ctx); len(keys) != 0 {
		t.Errorf("another prefix sees queues %v", keys)
	}
	if _, err := b.Get(ctx, op.ID); err == nil {
		t.Errorf("another prefix sees operation %s", op.ID)
	}
	if st, _ := b.Stats(ctx); len(st.QueueLengths) != 0 || len(st.Stages) != 0 {
		t.Errorf("another prefix counts %+v", st)
	}
	// One connection delivers messages in order: once B hears its own
	// later message, it would have heard A's.
	barrier := newQueued("k")
	barrier.Stage = repb.ExecutionStage_CACHE_CHECK
	b.Create(ctx, barrier, scheduler.JoinNone)
	heard, _ := b.OutputChanged(ctx, barrier.ID)
	b.AppendOutput(ctx, barrier.ID, scheduler.Stdout, []byte("x"))
	waitFor(t, heard, "B's own output signal")
	select {
	case <-work:
		t.Errorf("work queued under another prefix woke B")
	default:
	}
}
