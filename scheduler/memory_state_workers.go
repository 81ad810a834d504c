package scheduler

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// RecordWorker implements WorkerRegistry.
func (m *MemoryState) RecordWorker(ctx context.Context, w Worker) error {
	w.Offers = slices.Clone(w.Offers)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.workers[w.ID] = w
	return nil
}

// TouchWorker implements WorkerRegistry.
func (m *MemoryState) TouchWorker(ctx context.Context, id string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.workers[id]
	if !ok {
		return fmt.Errorf("worker %s: %w", id, ErrNotFound)
	}
	w.LastSeen = now
	m.workers[id] = w
	return nil
}

// LiveWorkers implements WorkerRegistry.
func (m *MemoryState) LiveWorkers(ctx context.Context, since time.Time) ([]Worker, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ws []Worker
	for _, w := range m.workers {
		if !w.LastSeen.Before(since) {
			w.Offers = slices.Clone(w.Offers)
			ws = append(ws, w)
		}
	}
	return ws, nil
}

// ForgetWorkers implements WorkerRegistry.
func (m *MemoryState) ForgetWorkers(ctx context.Context, before time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, w := range m.workers {
		if w.LastSeen.Before(before) {
			delete(m.workers, id)
		}
	}
	return nil
}
