package scheduler

// signals hands out channels that are closed at the next fire of their
// key: a broadcast "something changed" that never blocks the firer and
// never loses a wake-up if the waiter took the channel before looking.
// It is not safe for concurrent use; MemoryState guards it with its mutex.
type signals map[string]chan struct{}

func (s signals) wait(key string) <-chan struct{} {
	ch, ok := s[key]
	if !ok {
		ch = make(chan struct{})
		s[key] = ch
	}
	return ch
}

func (s signals) fire(key string) {
	if ch, ok := s[key]; ok {
		close(ch)
		delete(s, key)
	}
}
