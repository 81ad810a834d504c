package scheduler

import (
	"context"
	"errors"
	"strings"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
)

// ErrNotFound is wrapped by State errors for operations (or workers) the
// State does not hold.
var ErrNotFound = errors.New("not found")

// ErrUnavailable is wrapped by State errors that mean the store behind the
// State cannot be reached right now (a lost Redis connection, a failover):
// clients get UNAVAILABLE and retry.
var ErrUnavailable = errors.New("scheduler state is unavailable")

// ErrCompleted is returned by Update when the function tried to move a
// completed operation to another stage: a finished operation stays finished.
var ErrCompleted = errors.New("operation already completed")

// State holds everything the scheduler shares between replicas: operations,
// queues, leases, the in-flight map, the worker registry and live output.
//
// It offers storage primitives only; every decision (validation, cache
// lookups, dedup policy, retries, matching platforms to workers) is made
// above it, so that a Redis implementation serving several active-active
// scheduler replicas implements the same small set of atomic operations.
// Every method is safe for concurrent use. The conformance suite in
// scheduler/statetest states the contract precisely.
type State interface {
	OperationStore
	QueueStore
	LeaseStore
	WorkerRegistry
	OutputStore
	// Stats counts what the metrics report.
	Stats(ctx context.Context) (StateStats, error)
}

// JoinPolicy says whether Create may hand back an in-flight operation for
// the same DedupKey instead of creating a new one.
type JoinPolicy int

const (
	// JoinNone never merges, and the new operation is not offered to later
	// requests either (do_not_cache).
	JoinNone JoinPolicy = iota
	// JoinAny merges with an in-flight operation in any stage.
	JoinAny
	// JoinStarted merges only with an operation that is QUEUED or
	// EXECUTING, whose result cannot have been visible before the request
	// (skip_cache_lookup). An operation still checking the cache may be
	// about to return a cached result.
	JoinStarted
)

// OperationStore keeps operations by ID and the in-flight map.
type OperationStore interface {
	// Create stores op, or returns the in-flight operation with the same
	// DedupKey when join allows merging with it (joined is then true and
	// op is discarded). A created operation becomes the in-flight one for
	// its key if there is none and join is not JoinNone. The State sets
	// Version, and QueueSeq when op is created QUEUED.
	Create(ctx context.Context, op Operation, join JoinPolicy) (got Operation, joined bool, err error)
	// Get returns the operation, or an error wrapping ErrNotFound.
	Get(ctx context.Context, id string) (Operation, error)
	// Update atomically applies fn to the operation and stores the
	// result, keeping the index consistent: an operation is in its queue
	// exactly while it is QUEUED, in the in-flight map until it is
	// COMPLETED, and its output closes when it completes. If fn returns
	// an error nothing changes and Update returns the error with the
	// current operation. fn may run more than once (optimistic
	// transactions), so it must depend on nothing but its argument and
	// values captured before the call. Moving a completed operation to
	// another stage fails with ErrCompleted.
	Update(ctx context.Context, id string, fn func(*Operation) error) (Operation, error)
	// DeleteCompleted forgets operations completed before t, with their
	// output, and returns how many it forgot.
	DeleteCompleted(ctx context.Context, before time.Time) (int, error)
	// OperationChanged returns a channel closed at the next change of the
	// operation (or its deletion). Get the channel before reading the
	// operation so that no change goes unnoticed. For an operation that
	// does not exist the channel may be closed already.
	OperationChanged(ctx context.Context, id string) (<-chan struct{}, error)
}

// QueueStore keeps one priority queue per platform key.
type QueueStore interface {
	// QueueKeys lists the keys of the queues that hold operations.
	QueueKeys(ctx context.Context) ([]string, error)
	// Claim atomically takes the first operation among the queues named by
	// keys (lowest Priority first, then lowest QueueSeq) and leases it: it
	// sets Stage EXECUTING, increments Attempt and sets Lease to
	// {LeaseID(op.ID, req.Token), req.WorkerID, req.Expiry}. ok is false
	// when those queues are empty.
	Claim(ctx context.Context, keys []string, req ClaimRequest) (op Operation, ok bool, err error)
	// QueuedBefore lists the IDs of operations in queue key that were
	// first queued before t.
	QueuedBefore(ctx context.Context, key string, t time.Time) ([]string, error)
	// WorkAvailable returns a channel closed when the next operation
	// enters any queue. Pollers get it before they try to claim.
	WorkAvailable(ctx context.Context) (<-chan struct{}, error)
}

// ClaimRequest describes the lease a Claim grants.
type ClaimRequest struct {
	WorkerID string
	// Token is a fresh random string; the lease ID is LeaseID(op.ID, Token).
	Token  string
	Expiry time.Time
}

// ErrLeaseNotHeld is returned by RenewLease for a lease that is no longer
// the current lease of a running operation.
var ErrLeaseNotHeld = errors.New("lease is not held")

// LeaseStore renews leases and finds those that ran out.
type LeaseStore interface {
	// RenewLease moves the expiry of lease leaseID of operation id, if it
	// is still the current lease of that EXECUTING operation and held by
	// workerID; otherwise it returns an error wrapping ErrLeaseNotHeld or
	// ErrNotFound. A renewal is not a change watchers see: it neither
	// bumps Version nor fires OperationChanged, because it happens every
	// few seconds for every running action.
	RenewLease(ctx context.Context, id, leaseID, workerID string, expiry time.Time) error
	// ExpiredLeases lists the leases of EXECUTING operations whose expiry
	// is not after now.
	ExpiredLeases(ctx context.Context, now time.Time) ([]LeaseRef, error)
}

// LeaseRef names a lease and the operation it belongs to.
type LeaseRef struct {
	OperationID string
	LeaseID     string
}

// LeaseID builds a lease ID that carries its operation's ID, so that no
// index from leases to operations is needed.
func LeaseID(operationID, token string) string { return operationID + "/" + token }

// LeaseOperationID returns the operation ID inside a lease ID.
func LeaseOperationID(leaseID string) (string, bool) {
	id, token, ok := strings.Cut(leaseID, "/")
	return id, ok && id != "" && token != ""
}

// WorkerRegistry remembers the workers that polled recently and what they
// offer, so that the scheduler can tell an action nobody can run from one
// that merely waits.
type WorkerRegistry interface {
	// RecordWorker stores w (replacing what was known of w.ID).
	RecordWorker(ctx context.Context, w Worker) error
	// TouchWorker sets the LastSeen of a known worker; unknown workers
	// are an error wrapping ErrNotFound.
	TouchWorker(ctx context.Context, id string, now time.Time) error
	// LiveWorkers lists the workers seen at or after since.
	LiveWorkers(ctx context.Context, since time.Time) ([]Worker, error)
	// ForgetWorkers drops workers last seen before t.
	ForgetWorkers(ctx context.Context, before time.Time) error
}

// Worker is a worker as the registry knows it.
type Worker struct {
	ID string
	// Offers lists the properties the worker offers; a name may appear
	// several times with different values.
	Offers   []Property
	Capacity int32
	LastSeen time.Time
}

// OutputStream names one of an operation's live output streams.
type OutputStream int

const (
	Stdout OutputStream = iota + 1
	Stderr
)

func (s OutputStream) String() string {
	switch s {
	case Stdout:
		return "stdout"
	case Stderr:
		return "stderr"
	}
	return "unknown"
}

// OutputStore buffers the recent live output of running operations. Offsets
// count every byte ever appended to a stream; a State keeps only the most
// recent bytes of each, so a slow reader may skip some.
type OutputStore interface {
	// AppendOutput adds data to a stream of an operation that is not
	// completed; for a completed operation it does nothing. An unknown
	// operation is an error wrapping ErrNotFound.
	AppendOutput(ctx context.Context, id string, s OutputStream, data []byte) error
	// ReadOutput returns at most limit bytes of a stream from offset on
	// (or from the oldest byte kept, if that is later). An unknown
	// operation is an error wrapping ErrNotFound.
	ReadOutput(ctx context.Context, id string, s OutputStream, offset int64, limit int) (OutputRead, error)
	// OutputChanged returns a channel closed at the next append to the
	// operation's output, or when it completes or is deleted.
	OutputChanged(ctx context.Context, id string) (<-chan struct{}, error)
}

// OutputRead is what ReadOutput found.
type OutputRead struct {
	Data []byte
	// Offset is where Data starts; it is after the requested offset when
	// older bytes were dropped.
	Offset int64
	// Closed is true when the operation is completed: no more bytes will
	// come after the ones buffered.
	Closed bool
}

// StateStats is a snapshot for metrics.
type StateStats struct {
	// QueueLengths counts queued operations by queue key.
	QueueLengths map[string]int
	// Stages counts operations (completed ones still retained included)
	// by stage.
	Stages map[repb.ExecutionStage_Value]int
}
