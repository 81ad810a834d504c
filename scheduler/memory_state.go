package scheduler

import (
	"context"
	"fmt"
	"sync"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
)

// DefaultOutputLimit is how many recent bytes of each live output stream
// MemoryState keeps.
const DefaultOutputLimit = 1 << 20

// MemoryState is the State of a single scheduler process: maps behind one
// mutex, with waiters woken by closing channels. Nothing survives a restart.
type MemoryState struct {
	mu          sync.Mutex
	ops         map[string]*Operation
	inflight    map[string]string // DedupKey → operation ID
	queues      map[string]*opQueue
	executing   map[string]struct{}
	seq         int64
	work        chan struct{}
	opChanged   signals
	outChanged  signals
	outputs     map[string]*opOutput
	outputLimit int
	workers     map[string]Worker
}

var _ State = (*MemoryState)(nil)

// NewMemoryState returns an empty MemoryState keeping DefaultOutputLimit
// bytes of each output stream.
func NewMemoryState() *MemoryState { return NewMemoryStateWithOutputLimit(DefaultOutputLimit) }

// NewMemoryStateWithOutputLimit returns an empty MemoryState keeping limit
// bytes of each output stream.
func NewMemoryStateWithOutputLimit(limit int) *MemoryState {
	return &MemoryState{
		ops:         make(map[string]*Operation),
		inflight:    make(map[string]string),
		queues:      make(map[string]*opQueue),
		executing:   make(map[string]struct{}),
		work:        make(chan struct{}),
		opChanged:   make(signals),
		outChanged:  make(signals),
		outputs:     make(map[string]*opOutput),
		outputLimit: max(limit, 1),
		workers:     make(map[string]Worker),
	}
}

// Create implements OperationStore.
func (m *MemoryState) Create(ctx context.Context, op Operation, join JoinPolicy) (Operation, bool, error) {
	if op.ID == "" {
		return Operation{}, false, fmt.Errorf("creating an operation without an ID")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.ops[op.ID]; dup {
		return Operation{}, false, fmt.Errorf("operation %s already exists", op.ID)
	}
	register := join != JoinNone && op.DedupKey != ""
	if register {
		if id, ok := m.inflight[op.DedupKey]; ok {
			existing := m.ops[id]
			if join == JoinAny || existing.Queued() || existing.Executing() {
				return existing.Clone(), true, nil
			}
			register = false // keep the operation that is checking the cache
		}
	}
	op = op.Clone()
	op.Version = 0
	stored := m.store(nil, op)
	if register && !stored.Done() {
		m.inflight[op.DedupKey] = op.ID
	}
	return stored.Clone(), false, nil
}

// Get implements OperationStore.
func (m *MemoryState) Get(ctx context.Context, id string) (Operation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	op, ok := m.ops[id]
	if !ok {
		return Operation{}, fmt.Errorf("operation %s: %w", id, ErrNotFound)
	}
	return op.Clone(), nil
}

// Update implements OperationStore.
func (m *MemoryState) Update(ctx context.Context, id string, fn func(*Operation) error) (Operation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.ops[id]
	if !ok {
		return Operation{}, fmt.Errorf("operation %s: %w", id, ErrNotFound)
	}
	next := cur.Clone()
	if err := fn(&next); err != nil {
		return cur.Clone(), err
	}
	next.KeepImmutable(cur)
	if cur.Done() && !next.Done() {
		return cur.Clone(), fmt.Errorf("operation %s: %w", id, ErrCompleted)
	}
	return m.store(cur, next).Clone(), nil
}

// store replaces old (nil when creating) by next and keeps every index in
// step with it. It is the only place that changes an operation.
func (m *MemoryState) store(old *Operation, next Operation) *Operation {
	wasQueued := old != nil && old.Queued()
	wasDone := old != nil && old.Done()
	if old != nil {
		next.Version = old.Version
		next.QueueSeq = old.QueueSeq
	}
	next.Version++
	if next.Queued() && next.QueueSeq == 0 {
		m.seq++
		next.QueueSeq = m.seq
	}
	stored := &next
	m.ops[next.ID] = stored

	switch {
	case wasQueued && !stored.Queued():
		m.dequeue(stored)
	case !wasQueued && stored.Queued():
		m.enqueue(stored)
	}
	if stored.Executing() {
		m.executing[stored.ID] = struct{}{}
	} else {
		delete(m.executing, stored.ID)
	}
	if stored.Done() && !wasDone {
		if m.inflight[stored.DedupKey] == stored.ID {
			delete(m.inflight, stored.DedupKey)
		}
		m.outChanged.fire(stored.ID)
	}
	m.opChanged.fire(stored.ID)
	return stored
}

// DeleteCompleted implements OperationStore.
func (m *MemoryState) DeleteCompleted(ctx context.Context, before time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, op := range m.ops {
		if op.Done() && op.DoneAt.Before(before) {
			delete(m.ops, id)
			delete(m.outputs, id)
			m.opChanged.fire(id)
			m.outChanged.fire(id)
			n++
		}
	}
	return n, nil
}

// OperationChanged implements OperationStore.
func (m *MemoryState) OperationChanged(ctx context.Context, id string) (<-chan struct{}, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.ops[id]; !ok {
		return closedChan, nil // nothing will ever fire it
	}
	return m.opChanged.wait(id), nil
}

// closedChan is handed to waiters on operations that do not exist.
var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// Stats implements State.
func (m *MemoryState) Stats(ctx context.Context) (StateStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := StateStats{
		QueueLengths: make(map[string]int, len(m.queues)),
		Stages:       make(map[repb.ExecutionStage_Value]int),
	}
	for key, q := range m.queues {
		st.QueueLengths[key] = q.Len()
	}
	for _, op := range m.ops {
		st.Stages[op.Stage]++
	}
	return st, nil
}
