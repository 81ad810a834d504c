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

func testWorkers(t *testing.T, s scheduler.State) {
	ctx := context.Background()
	offers := []scheduler.Property{{Name: "os", Value: "linux"}, {Name: "cpu", Value: "a"}, {Name: "cpu", Value: "b"}}
	if err := s.RecordWorker(ctx, scheduler.Worker{ID: "w1", Offers: offers, Capacity: 4, LastSeen: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordWorker(ctx, scheduler.Worker{ID: "w2", LastSeen: t0.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ws, err := s.LiveWorkers(ctx, t0.Add(-time.Minute))
	if err != nil || len(ws) != 1 || ws[0].ID != "w1" || ws[0].Capacity != 4 || !slices.Equal(ws[0].Offers, offers) {
		t.Errorf("LiveWorkers = %+v, %v; want w1 with its offers", ws, err)
	}
	if err := s.TouchWorker(ctx, "w2", t0); err != nil {
		t.Errorf("TouchWorker(w2): %v", err)
	}
	if ws, _ := s.LiveWorkers(ctx, t0.Add(-time.Minute)); len(ws) != 2 {
		t.Errorf("after touch, LiveWorkers = %+v, want 2", ws)
	}
	if err := s.TouchWorker(ctx, "nope", t0); !errors.Is(err, scheduler.ErrNotFound) {
		t.Errorf("TouchWorker(unknown) = %v, want ErrNotFound", err)
	}
	s.TouchWorker(ctx, "w2", t0.Add(time.Hour))
	if err := s.ForgetWorkers(ctx, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ws, _ := s.LiveWorkers(ctx, time.Time{}); len(ws) != 1 || ws[0].ID != "w2" {
		t.Errorf("after ForgetWorkers, workers = %+v, want w2", ws)
	}
}

func read(t *testing.T, s scheduler.State, id string, st scheduler.OutputStream, off int64, limit int) scheduler.OutputRead {
	t.Helper()
	r, err := s.ReadOutput(context.Background(), id, st, off, limit)
	if err != nil {
		t.Fatalf("ReadOutput(%s, %v, %d): %v", id, st, off, err)
	}
	return r
}

func testOutput(t *testing.T, s scheduler.State) {
	ctx := context.Background()
	a := mustCreate(t, s, newOp("k", 0, repb.ExecutionStage_QUEUED))
	if r := read(t, s, a.ID, scheduler.Stdout, 0, 100); len(r.Data) != 0 || r.Closed {
		t.Errorf("empty stream read = %+v", r)
	}
	if err := s.AppendOutput(ctx, a.ID, scheduler.Stdout, []byte("hello ")); err != nil {
		t.Fatal(err)
	}
	s.AppendOutput(ctx, a.ID, scheduler.Stdout, []byte("world"))
	s.AppendOutput(ctx, a.ID, scheduler.Stderr, []byte("oops"))
	if r := read(t, s, a.ID, scheduler.Stdout, 0, 100); string(r.Data) != "hello world" || r.Offset != 0 {
		t.Errorf("stdout = %q at %d", r.Data, r.Offset)
	}
	if r := read(t, s, a.ID, scheduler.Stdout, 6, 3); string(r.Data) != "wor" || r.Offset != 6 {
		t.Errorf("stdout[6:9] = %q at %d", r.Data, r.Offset)
	}
	if r := read(t, s, a.ID, scheduler.Stderr, 0, 100); string(r.Data) != "oops" {
		t.Errorf("stderr = %q", r.Data)
	}
	if r := read(t, s, a.ID, scheduler.Stdout, 11, 100); len(r.Data) != 0 || r.Closed {
		t.Errorf("read at end = %+v", r)
	}
	mustUpdate(t, s, a.ID, complete)
	s.AppendOutput(ctx, a.ID, scheduler.Stdout, []byte("late"))
	if r := read(t, s, a.ID, scheduler.Stdout, 0, 100); string(r.Data) != "hello world" || !r.Closed {
		t.Errorf("after completion stdout = %q closed %v; want the old bytes, closed", r.Data, r.Closed)
	}
	if err := s.AppendOutput(ctx, "nope", scheduler.Stdout, []byte("x")); !errors.Is(err, scheduler.ErrNotFound) {
		t.Errorf("AppendOutput(unknown) = %v", err)
	}
	if _, err := s.ReadOutput(ctx, "nope", scheduler.Stdout, 0, 1); !errors.Is(err, scheduler.ErrNotFound) {
		t.Errorf("ReadOutput(unknown) = %v", err)
	}
}

func testOutputBounded(t *testing.T, s scheduler.State, limit int) {
	ctx := context.Background()
	a := mustCreate(t, s, newOp("k", 0, repb.ExecutionStage_QUEUED))
	chunk := make([]byte, limit/3+1)
	total := 0
	for i := 0; total < 3*limit; i++ {
		for j := range chunk {
			chunk[j] = byte('a' + i%26)
		}
		if err := s.AppendOutput(ctx, a.ID, scheduler.Stdout, chunk); err != nil {
			t.Fatal(err)
		}
		total += len(chunk)
	}
	r := read(t, s, a.ID, scheduler.Stdout, 0, 10*limit)
	if len(r.Data) > limit || r.Offset != int64(total-len(r.Data)) || len(r.Data) == 0 {
		t.Fatalf("after %d bytes, read %d bytes at %d; want at most %d ending at %d", total, len(r.Data), r.Offset, limit, total)
	}
	if last := r.Data[len(r.Data)-1]; last != chunk[0] {
		t.Errorf("last byte kept = %q, want %q (the newest)", last, chunk[0])
	}
}

func testOutputSignal(t *testing.T, s scheduler.State) {
	ctx := context.Background()
	a := mustCreate(t, s, newOp("k", 0, repb.ExecutionStage_QUEUED))
	ch, err := s.OutputChanged(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	s.AppendOutput(ctx, a.ID, scheduler.Stderr, []byte("x"))
	waitClosed(t, ch, "OutputChanged after append")
	ch, _ = s.OutputChanged(ctx, a.ID)
	mustUpdate(t, s, a.ID, complete)
	waitClosed(t, ch, "OutputChanged after completion")
}

func testStats(t *testing.T, s scheduler.State) {
	mustCreate(t, s, newOp("a", 0, repb.ExecutionStage_QUEUED))
	mustCreate(t, s, newOp("a", 0, repb.ExecutionStage_QUEUED))
	mustCreate(t, s, newOp("b", 0, repb.ExecutionStage_QUEUED))
	mustCreate(t, s, newOp("b", 0, repb.ExecutionStage_CACHE_CHECK))
	claim(t, s, "b")
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.QueueLengths["a"] != 2 || st.QueueLengths["b"] != 0 {
		t.Errorf("QueueLengths = %v, want a:2 and b empty", st.QueueLengths)
	}
	want := map[repb.ExecutionStage_Value]int{repb.ExecutionStage_QUEUED: 2, repb.ExecutionStage_EXECUTING: 1, repb.ExecutionStage_CACHE_CHECK: 1}
	for stage, n := range want {
		if st.Stages[stage] != n {
			t.Errorf("Stages[%v] = %d, want %d", stage, st.Stages[stage], n)
		}
	}
}
