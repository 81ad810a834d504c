package kilntest

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
)

// lineWatcher remembers the first match of each of its named patterns in a
// process's output, so that a test can wait for a line (an address in the
// banner, a log line that says a worker started) without polling.
type lineWatcher struct {
	mu       sync.Mutex
	patterns map[string]*regexp.Regexp
	values   map[string]string        // first submatch (or whole match)
	found    map[string]chan struct{} // closed once values[key] is set
}

// newLineWatcher watches for patterns, keyed by a name for the thing each
// one finds.
func newLineWatcher(patterns map[string]*regexp.Regexp) *lineWatcher {
	w := &lineWatcher{patterns: patterns, values: map[string]string{}, found: map[string]chan struct{}{}}
	for key := range patterns {
		w.found[key] = make(chan struct{})
	}
	return w
}

// see matches one line against every pattern not yet found.
func (w *lineWatcher) see(line string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for key, re := range w.patterns {
		if _, done := w.values[key]; done {
			continue
		}
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		w.values[key] = m[len(m)-1]
		close(w.found[key])
	}
}

// errExited says the process ended before printing what was waited for.
var errExited = errors.New("the process exited")

// waitAny waits until one of keys was found, the process exits (exited is
// closed) or timeout passes, and returns the key found first.
func (w *lineWatcher) waitAny(timeout time.Duration, exited <-chan struct{}, keys ...string) (string, error) {
	first := make(chan string, len(keys))
	stop := make(chan struct{})
	defer close(stop)
	for _, key := range keys {
		ch, ok := w.found[key]
		if !ok {
			return "", fmt.Errorf("kilntest: no pattern named %q", key)
		}
		go func() {
			select {
			case <-ch:
				first <- key
			case <-stop:
			}
		}()
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case key := <-first:
		return key, nil
	case <-exited:
		// It may have printed the line just before it exited.
		for _, key := range keys {
			if _, ok := w.value(key); ok {
				return key, nil
			}
		}
		return "", fmt.Errorf("%w before printing a line for %s", errExited, strings.Join(keys, " or "))
	case <-timer.C:
		return "", fmt.Errorf("no line for %s within %v", strings.Join(keys, " or "), timeout)
	}
}

// wait waits for key and returns what its pattern captured.
func (w *lineWatcher) wait(timeout time.Duration, exited <-chan struct{}, key string) (string, error) {
	if _, err := w.waitAny(timeout, exited, key); err != nil {
		return "", err
	}
	v, _ := w.value(key)
	return v, nil
}

func (w *lineWatcher) value(key string) (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, ok := w.values[key]
	return v, ok
}
