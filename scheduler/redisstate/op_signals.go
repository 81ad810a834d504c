package redisstate

import (
	"strconv"
	"strings"
	"sync"
)

// maxKnownVersions bounds the versions opSignals remembers; forgetting
// them all only costs spurious wake-ups.
const maxKnownVersions = 1 << 16

// opSignals is the local half of OperationChanged. Change messages carry
// the new version, and arrive a moment after the write that caused them
// returned. A waiter that registers after its State already knew a version
// (from its own write, a read or an earlier message) must not be woken by
// that version's late message: it was no change to that waiter. So each
// waiter remembers the version known when it registered and wakes only for
// newer ones. That is safe because a known version is one that existed
// before the waiter registered, so whatever the waiter reads next is at
// least that new.
type opSignals struct {
	mu      sync.Mutex
	waiters map[string]map[int64]chan struct{} // id → known version → channel
	known   map[string]int64
}

func newOpSignals() *opSignals {
	return &opSignals{waiters: make(map[string]map[int64]chan struct{}), known: make(map[string]int64)}
}

func (s *opSignals) wait(id string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.known[id]
	byVersion, ok := s.waiters[id]
	if !ok {
		byVersion = make(map[int64]chan struct{}, 1)
		s.waiters[id] = byVersion
	}
	ch, ok := byVersion[v]
	if !ok {
		ch = make(chan struct{})
		byVersion[v] = ch
	}
	return ch
}

// saw records that version v of operation id exists. done operations are
// forgotten: nobody waits on them for long.
func (s *opSignals) saw(id string, v int64, done bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if done {
		delete(s.known, id)
		return
	}
	s.remember(id, v)
}

func (s *opSignals) remember(id string, v int64) {
	if v <= s.known[id] {
		return
	}
	if len(s.known) >= maxKnownVersions {
		clear(s.known)
	}
	s.known[id] = v
}

// message handles a change message: "{version}:{id}", or "d:{id}" for a
// deletion, which wakes every waiter.
func (s *opSignals) message(payload string) {
	ver, id, ok := strings.Cut(payload, ":")
	if !ok {
		return
	}
	v, err := strconv.ParseInt(ver, 10, 64)
	deleted := err != nil
	s.mu.Lock()
	defer s.mu.Unlock()
	for known, ch := range s.waiters[id] {
		if deleted || v > known {
			close(ch)
			delete(s.waiters[id], known)
		}
	}
	if len(s.waiters[id]) == 0 {
		delete(s.waiters, id)
	}
	switch _, tracked := s.known[id]; {
	case deleted:
		delete(s.known, id)
	case tracked:
		s.remember(id, v)
	}
}

// fireAll wakes every waiter and forgets every version, after messages
// may have been lost (or Redis lost its data, and versions start over).
func (s *opSignals) fireAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, byVersion := range s.waiters {
		for _, ch := range byVersion {
			close(ch)
		}
		delete(s.waiters, id)
	}
	clear(s.known)
}

// waitingIDs lists the operations somebody waits on.
func (s *opSignals) waitingIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.waiters))
	for id := range s.waiters {
		ids = append(ids, id)
	}
	return ids
}
