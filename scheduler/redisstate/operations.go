package redisstate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kilnbuild/kiln/scheduler"
)

// maxUpdateRounds bounds the optimistic retries of one Update. Each round
// loses only to a committed change of the same operation, so reaching it
// means a pathological storm of writers, reported rather than spun on.
const maxUpdateRounds = 1000

// deleteBatch is how many completed operations one script deletes, so that
// Redis never blocks long on a big backlog.
const deleteBatch = 500

// Create implements scheduler.OperationStore.
func (s *State) Create(ctx context.Context, op scheduler.Operation, join scheduler.JoinPolicy) (scheduler.Operation, bool, error) {
	return s.create(ctx, op, join, nonce())
}

// create is Create with the nonce that tells a retry of the same call (by
// go-redis, after a lost reply) from a second Create of the same ID.
func (s *State) create(ctx context.Context, op scheduler.Operation, join scheduler.JoinPolicy, nonce string) (scheduler.Operation, bool, error) {
	if op.ID == "" {
		return scheduler.Operation{}, false, errors.New("redis state: creating an operation without an ID")
	}
	blob, err := encodeOp(&op)
	if err != nil {
		return scheduler.Operation{}, false, err
	}
	joinArg := 0
	switch join {
	case scheduler.JoinAny:
		joinArg = 1
	case scheduler.JoinStarted:
		joinArg = 2
	}
	res, err := s.run(ctx, s.scripts.create,
		op.ID, nonce, op.DedupKey, joinArg, blob, int32(op.Stage), op.Priority, op.QueueKey,
		micros(op.QueuedAt), op.Attempt, op.Lease.ID, op.Lease.WorkerID,
		nanos(op.Lease.Expiry), micros(op.Lease.Expiry), micros(op.DoneAt), s.retentionMS())
	if err != nil {
		return scheduler.Operation{}, false, wrapErr("creating operation "+op.ID, err)
	}
	l, err := replyList(res)
	if err != nil || len(l) == 0 {
		return scheduler.Operation{}, false, fmt.Errorf("redis state: creating operation %s: bad reply %v", op.ID, res)
	}
	switch l[0] {
	case "exists":
		return scheduler.Operation{}, false, fmt.Errorf("redis state: operation %s already exists", op.ID)
	case "joined":
		got, err := decodeReply(l)
		if err != nil {
			return scheduler.Operation{}, false, err
		}
		s.opChanged.saw(got.ID, got.Version, got.Done())
		return got, true, nil
	}
	if len(l) != 3 {
		return scheduler.Operation{}, false, fmt.Errorf("redis state: creating operation %s: bad reply %v", op.ID, res)
	}
	created := op.Clone()
	if created.Version, err = replyInt(l[1]); err != nil {
		return scheduler.Operation{}, false, err
	}
	if created.QueueSeq, err = replyInt(l[2]); err != nil {
		return scheduler.Operation{}, false, err
	}
	s.opChanged.saw(created.ID, created.Version, created.Done())
	if created.Queued() {
		s.gate.workQueued() // this State's next Claim must not miss it
	}
	return created, false, nil
}

// decodeReply decodes the operation in a {status, HGETALL} reply.
func decodeReply(l []any) (scheduler.Operation, error) {
	if len(l) != 2 {
		return scheduler.Operation{}, fmt.Errorf("redis state: bad operation reply of %d elements", len(l))
	}
	f, err := replyFields(l[1])
	if err != nil {
		return scheduler.Operation{}, fmt.Errorf("redis state: %w", err)
	}
	return decodeOp(f)
}

func (s *State) retentionMS() int64 { return max(s.opts.CompletedRetention.Milliseconds(), 1) }

// Get implements scheduler.OperationStore.
func (s *State) Get(ctx context.Context, id string) (scheduler.Operation, error) {
	f, err := s.client.HGetAll(ctx, s.opKey(id)).Result()
	if err != nil {
		return scheduler.Operation{}, wrapErr("reading operation "+id, err)
	}
	if len(f) == 0 {
		return scheduler.Operation{}, notFound("operation", id)
	}
	op, err := decodeOp(f)
	if err != nil {
		return scheduler.Operation{}, err
	}
	s.opChanged.saw(id, op.Version, op.Done())
	return op, nil
}

// Update implements scheduler.OperationStore: it reads the operation,
// applies fn, and commits if nobody changed the operation meanwhile;
// otherwise it starts over.
func (s *State) Update(ctx context.Context, id string, fn func(*scheduler.Operation) error) (scheduler.Operation, error) {
	for range maxUpdateRounds {
		cur, err := s.Get(ctx, id)
		if err != nil {
			return scheduler.Operation{}, err
		}
		next := cur.Clone()
		if err := fn(&next); err != nil {
			return cur, err
		}
		next.KeepImmutable(&cur)
		if cur.Done() && !next.Done() {
			return cur, fmt.Errorf("operation %s: %w", id, scheduler.ErrCompleted)
		}
		committed, ok, err := s.commit(ctx, &cur, next, nonce())
		if err != nil || ok {
			return committed, err
		}
	}
	return scheduler.Operation{}, fmt.Errorf("redis state: updating operation %s: still contended after %d rounds", id, maxUpdateRounds)
}

// commit stores next if cur is still the stored version. ok is false when
// another change got there first. nonce marks the write, so that a retry
// of the same call after a lost reply is not taken for a conflict.
func (s *State) commit(ctx context.Context, cur *scheduler.Operation, next scheduler.Operation, nonce string) (scheduler.Operation, bool, error) {
	blob, err := encodeOp(&next)
	if err != nil {
		return scheduler.Operation{}, false, err
	}
	touched := 0
	if next.Lease.ID != cur.Lease.ID || next.Lease.WorkerID != cur.Lease.WorkerID || !next.Lease.Expiry.Equal(cur.Lease.Expiry) {
		touched = 1
	}
	res, err := s.run(ctx, s.scripts.commit,
		cur.ID, cur.Version, nonce, blob, int32(next.Stage), next.Attempt, touched,
		next.Lease.ID, next.Lease.WorkerID, nanos(next.Lease.Expiry), micros(next.Lease.Expiry),
		micros(next.QueuedAt), micros(next.DoneAt), s.retentionMS())
	if err != nil {
		return scheduler.Operation{}, false, wrapErr("updating operation "+cur.ID, err)
	}
	l, err := replyList(res)
	if err != nil || len(l) == 0 {
		return scheduler.Operation{}, false, fmt.Errorf("redis state: updating operation %s: bad reply %v", cur.ID, res)
	}
	switch l[0] {
	case "notfound":
		return scheduler.Operation{}, false, notFound("operation", cur.ID)
	case "conflict":
		return scheduler.Operation{}, false, nil
	}
	if len(l) != 3 {
		return scheduler.Operation{}, false, fmt.Errorf("redis state: updating operation %s: bad reply %v", cur.ID, res)
	}
	if next.Version, err = replyInt(l[1]); err != nil {
		return scheduler.Operation{}, false, err
	}
	if next.QueueSeq, err = replyInt(l[2]); err != nil {
		return scheduler.Operation{}, false, err
	}
	s.opChanged.saw(next.ID, next.Version, next.Done())
	if next.Queued() && !cur.Queued() {
		s.gate.workQueued() // this State's next Claim must not miss it
	}
	return next, true, nil
}

// DeleteCompleted implements scheduler.OperationStore.
func (s *State) DeleteCompleted(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		res, err := s.run(ctx, s.scripts.deleteCompleted, micros(before), deleteBatch)
		if err != nil {
			return total, wrapErr("deleting completed operations", err)
		}
		l, err := replyList(res)
		if err != nil || len(l) != 2 {
			return total, fmt.Errorf("redis state: deleting completed operations: bad reply %v", res)
		}
		deleted, _ := replyInt(l[0])
		examined, _ := replyInt(l[1])
		total += int(deleted)
		if examined < deleteBatch {
			return total, nil
		}
	}
}

// OperationChanged implements scheduler.OperationStore. It does not look
// the operation up (that would cost a round trip per wait); the caller's
// Get says NOT_FOUND, and pruneLoop wakes waiters of operations that are
// gone.
func (s *State) OperationChanged(ctx context.Context, id string) (<-chan struct{}, error) {
	return s.opChanged.wait(id), nil
}
