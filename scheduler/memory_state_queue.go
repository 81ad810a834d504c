package scheduler

import (
	"container/heap"
	"context"
	"fmt"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
)

// opQueue is one platform's queue: a heap ordered by (priority, sequence),
// with an index so that a cancelled operation leaves in O(log n).
type opQueue struct {
	items []*queueItem
	index map[string]*queueItem
}

type queueItem struct {
	id       string
	priority int32
	seq      int64
	queuedAt time.Time
	pos      int
}

func newOpQueue() *opQueue { return &opQueue{index: make(map[string]*queueItem)} }

func (q *opQueue) Len() int { return len(q.items) }
func (q *opQueue) Less(i, j int) bool {
	return itemBefore(q.items[i], q.items[j])
}
func (q *opQueue) Swap(i, j int) {
	q.items[i], q.items[j] = q.items[j], q.items[i]
	q.items[i].pos, q.items[j].pos = i, j
}
func (q *opQueue) Push(x any) {
	it := x.(*queueItem)
	it.pos = len(q.items)
	q.items = append(q.items, it)
	q.index[it.id] = it
}
func (q *opQueue) Pop() any {
	it := q.items[len(q.items)-1]
	q.items[len(q.items)-1] = nil
	q.items = q.items[:len(q.items)-1]
	delete(q.index, it.id)
	return it
}

func itemBefore(a, b *queueItem) bool {
	if a.priority != b.priority {
		return a.priority < b.priority
	}
	return a.seq < b.seq
}

// enqueue and dequeue are called by store with m.mu held.
func (m *MemoryState) enqueue(op *Operation) {
	q, ok := m.queues[op.QueueKey]
	if !ok {
		q = newOpQueue()
		m.queues[op.QueueKey] = q
	}
	heap.Push(q, &queueItem{id: op.ID, priority: op.Priority, seq: op.QueueSeq, queuedAt: op.QueuedAt})
	close(m.work)
	m.work = make(chan struct{})
}

func (m *MemoryState) dequeue(op *Operation) {
	q, ok := m.queues[op.QueueKey]
	if !ok {
		return
	}
	if it, ok := q.index[op.ID]; ok {
		heap.Remove(q, it.pos)
	}
	if q.Len() == 0 {
		delete(m.queues, op.QueueKey)
	}
}

// QueueKeys implements QueueStore.
func (m *MemoryState) QueueKeys(ctx context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.queues))
	for k := range m.queues {
		keys = append(keys, k)
	}
	return keys, nil
}

// Claim implements QueueStore.
func (m *MemoryState) Claim(ctx context.Context, keys []string, req ClaimRequest) (Operation, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var best *queueItem
	for _, k := range keys {
		q, ok := m.queues[k]
		if !ok || q.Len() == 0 {
			continue
		}
		if head := q.items[0]; best == nil || itemBefore(head, best) {
			best = head
		}
	}
	if best == nil {
		return Operation{}, false, nil
	}
	cur := m.ops[best.id]
	next := cur.Clone()
	next.Stage = repb.ExecutionStage_EXECUTING
	next.Attempt++
	next.Lease = Lease{ID: LeaseID(cur.ID, req.Token), WorkerID: req.WorkerID, Expiry: req.Expiry}
	return m.store(cur, next).Clone(), true, nil
}

// QueuedBefore implements QueueStore.
func (m *MemoryState) QueuedBefore(ctx context.Context, key string, t time.Time) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q, ok := m.queues[key]
	if !ok {
		return nil, nil
	}
	var ids []string
	for _, it := range q.items {
		if it.queuedAt.Before(t) {
			ids = append(ids, it.id)
		}
	}
	return ids, nil
}

// WorkAvailable implements QueueStore.
func (m *MemoryState) WorkAvailable(ctx context.Context) (<-chan struct{}, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.work, nil
}

// RenewLease implements LeaseStore.
func (m *MemoryState) RenewLease(ctx context.Context, id, leaseID, workerID string, expiry time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	op, ok := m.ops[id]
	if !ok {
		return fmt.Errorf("operation %s: %w", id, ErrNotFound)
	}
	if !op.Executing() || op.Lease.ID != leaseID || op.Lease.WorkerID != workerID {
		return fmt.Errorf("lease %s: %w", leaseID, ErrLeaseNotHeld)
	}
	op.Lease.Expiry = expiry
	return nil
}

// ExpiredLeases implements LeaseStore.
func (m *MemoryState) ExpiredLeases(ctx context.Context, now time.Time) ([]LeaseRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var refs []LeaseRef
	for id := range m.executing {
		if op := m.ops[id]; !op.Lease.Expiry.After(now) {
			refs = append(refs, LeaseRef{OperationID: id, LeaseID: op.Lease.ID})
		}
	}
	return refs, nil
}
