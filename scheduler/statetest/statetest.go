// Package statetest is the conformance suite of scheduler.State. Every
// State implementation (memory, Redis) runs it from its own tests:
//
//	statetest.Run(t, statetest.Config{New: func(t *testing.T) scheduler.State { ... }})
//
// It tests the contract written on the State interface, nothing about how a
// State stores things.
package statetest

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/internal/digest"
	"github.com/kilnbuild/kiln/scheduler"
)

// Config says how to make the State under test.
type Config struct {
	// New returns an empty State; it is called once per subtest.
	New func(t *testing.T) scheduler.State
	// OutputLimit is how many bytes of each stream the State keeps; 0
	// skips the test of that bound.
	OutputLimit int
}

// Run runs the whole suite.
func Run(t *testing.T, c Config) {
	tests := []struct {
		name string
		fn   func(*testing.T, scheduler.State)
	}{
		{"CreateAndGet", testCreateAndGet},
		{"JoinAny", testJoinAny},
		{"JoinStartedSkipsCacheCheck", testJoinStarted},
		{"JoinNoneIsPrivate", testJoinNone},
		{"CompletionEndsDedup", testCompletionEndsDedup},
		{"CompletedStaysCompleted", testCompletedStaysCompleted},
		{"UpdateErrorChangesNothing", testUpdateError},
		{"UpdateKeepsImmutableFields", testUpdateKeepsImmutable},
		{"ClaimPriorityThenFIFO", testClaimOrder},
		{"ClaimLeases", testClaimLeases},
		{"RequeueKeepsPlace", testRequeueKeepsPlace},
		{"CompletedLeavesQueue", testCompletedLeavesQueue},
		{"QueuedBefore", testQueuedBefore},
		{"ExpiredLeases", testExpiredLeases},
		{"RenewLease", testRenewLease},
		{"WorkAvailableSignal", testWorkAvailable},
		{"OperationChangedSignal", testOperationChanged},
		{"DeleteCompleted", testDeleteCompleted},
		{"Workers", testWorkers},
		{"Output", testOutput},
		{"OutputSignal", testOutputSignal},
		{"Stats", testStats},
		{"ConcurrentClaimsTakeEachOnce", testConcurrentClaims},
		{"ConcurrentUpdatesAreAtomic", testConcurrentUpdates},
		{"ConcurrentCreatesJoinOne", testConcurrentCreates},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, c.New(t)) })
	}
	if c.OutputLimit > 0 {
		t.Run("OutputIsBounded", func(t *testing.T) { testOutputBounded(t, c.New(t), c.OutputLimit) })
	}
}

var (
	t0     = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	action = digest.OfBytes(digest.Functions[0], []byte("action"))
)

// uniqueID is random, so that States backed by a shared server do not
// mix up the operations of different runs.
func uniqueID() string { return strings.ToLower(rand.Text()) }

// newOp returns an operation in stage; QUEUED ones are queued in key.
func newOp(key string, priority int32, stage repb.ExecutionStage_Value) scheduler.Operation {
	id := uniqueID()
	return scheduler.Operation{
		ID:         id,
		Name:       "inst/operations/" + id,
		Instance:   "inst",
		Action:     action,
		DedupKey:   "dedup-" + id,
		QueueKey:   key,
		Priority:   priority,
		Timeout:    time.Minute,
		CreatedAt:  t0,
		Stage:      stage,
		QueuedAt:   t0,
		EnqueuedAt: t0,
	}
}

func mustCreate(t *testing.T, s scheduler.State, op scheduler.Operation) scheduler.Operation {
	t.Helper()
	got, joined, err := s.Create(context.Background(), op, scheduler.JoinNone)
	if err != nil || joined {
		t.Fatalf("Create(%s) = joined %v, %v", op.ID, joined, err)
	}
	return got
}

func mustGet(t *testing.T, s scheduler.State, id string) scheduler.Operation {
	t.Helper()
	op, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return op
}

func mustUpdate(t *testing.T, s scheduler.State, id string, fn func(*scheduler.Operation)) scheduler.Operation {
	t.Helper()
	op, err := s.Update(context.Background(), id, func(op *scheduler.Operation) error { fn(op); return nil })
	if err != nil {
		t.Fatalf("Update(%s): %v", id, err)
	}
	return op
}

func complete(op *scheduler.Operation) {
	op.Stage = repb.ExecutionStage_COMPLETED
	op.Response = &repb.ExecuteResponse{Message: "done"}
	op.DoneAt = t0
}

func claim(t *testing.T, s scheduler.State, keys ...string) (scheduler.Operation, bool) {
	t.Helper()
	op, ok, err := s.Claim(context.Background(), keys, scheduler.ClaimRequest{WorkerID: "w", Token: uniqueID(), Expiry: t0.Add(time.Minute)})
	if err != nil {
		t.Fatalf("Claim(%v): %v", keys, err)
	}
	return op, ok
}

// waitClosed fails if ch is not closed soon. The bound only guards
// against a hang; asynchronous States (pub/sub) need a moment.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: signal never fired", what)
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
