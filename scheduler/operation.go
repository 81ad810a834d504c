package scheduler

import (
	"slices"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/internal/digest"
)

// Operation is the scheduler's record of one execution, as a State stores
// it. Several Execute calls may share one Operation (in-flight dedup).
//
// It is a plain value so that a State can serialise it (the Redis State
// will). The fields above Stage never change after Create; a State keeps
// them as they were whatever an Update does.
type Operation struct {
	// ID is the random part of Name; States key operations by it.
	ID string
	// Name is what clients see: "{instance}/operations/{ID}".
	Name     string
	Instance string
	// Action is the action digest; its Function is the request's digest
	// function, which every result uses.
	Action digest.Digest
	// DedupKey identifies identical actions (instance, function, action
	// digest) for in-flight dedup.
	DedupKey string
	// Platform is what the action asks of a worker; QueueKey is its
	// PlatformKey, which names the queue the operation waits in.
	Platform Platform
	QueueKey string
	// Priority is ExecutionPolicy.priority: lower runs sooner.
	Priority int32
	// Timeout is the execution timeout, already defaulted and capped.
	Timeout    time.Duration
	DoNotCache bool
	CreatedAt  time.Time

	Stage repb.ExecutionStage_Value
	// QueuedAt is when the operation first entered a queue; it is the
	// queued timestamp of the result and what MaxQueueAge measures.
	QueuedAt time.Time
	// EnqueuedAt is when it last entered a queue (retries included);
	// dispatch latency is measured from it.
	EnqueuedAt time.Time
	// QueueSeq orders operations of equal priority: the State sets it on
	// the first enqueue and keeps it, so a retried action keeps its place.
	QueueSeq int64
	// Attempt counts the leases handed out so far; the State increments it
	// in Claim.
	Attempt int32
	// Lease is the current lease while Stage is EXECUTING. A completed
	// operation keeps its last lease, which no longer renews.
	Lease Lease
	// LostWorkers are the workers whose leases expired, in order.
	LostWorkers []string
	// Response is set when Stage is COMPLETED. It is shared, never
	// modified after it is set.
	Response *repb.ExecuteResponse
	DoneAt   time.Time
	// Version increases with every change; the State maintains it so that
	// watchers can tell whether they have seen the latest state.
	Version int64
}

// Lease grants one worker the right to run an operation until Expiry.
type Lease struct {
	ID       string
	WorkerID string
	Expiry   time.Time
}

// Done reports whether the operation is finished.
func (o *Operation) Done() bool { return o.Stage == repb.ExecutionStage_COMPLETED }

// Queued reports whether the operation waits in its queue.
func (o *Operation) Queued() bool { return o.Stage == repb.ExecutionStage_QUEUED }

// Executing reports whether a worker holds the operation under a lease.
func (o *Operation) Executing() bool { return o.Stage == repb.ExecutionStage_EXECUTING }

// Clone returns a copy that shares nothing mutable with o.
func (o Operation) Clone() Operation {
	o.Platform = slices.Clone(o.Platform)
	o.LostWorkers = slices.Clone(o.LostWorkers)
	return o
}

// KeepImmutable copies into o the fields that never change after Create.
// States call it after an Update function ran, so a careless function
// cannot move an operation to another queue or dedup key.
func (o *Operation) KeepImmutable(orig *Operation) {
	o.ID, o.Name, o.Instance, o.Action = orig.ID, orig.Name, orig.Instance, orig.Action
	o.DedupKey, o.Platform, o.QueueKey = orig.DedupKey, orig.Platform, orig.QueueKey
	o.Priority, o.Timeout, o.DoNotCache, o.CreatedAt = orig.Priority, orig.Timeout, orig.DoNotCache, orig.CreatedAt
}
