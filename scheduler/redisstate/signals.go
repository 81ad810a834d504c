package redisstate

import "sync"

// signals hands out channels closed at the next fire of their key: the
// local half of a pub/sub signal. A waiter takes its channel before it
// looks at the state, so a change published after that wakes it.
type signals struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

func newSignals() *signals { return &signals{m: make(map[string]chan struct{})} }

func (s *signals) wait(key string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.m[key]
	if !ok {
		ch = make(chan struct{})
		s.m[key] = ch
	}
	return ch
}

func (s *signals) fire(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.m[key]; ok {
		close(ch)
		delete(s.m, key)
	}
}

// fireAll wakes every waiter, after messages may have been lost.
func (s *signals) fireAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, ch := range s.m {
		close(ch)
		delete(s.m, key)
	}
}

// keys lists the keys somebody waits on.
func (s *signals) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	return keys
}
