package scheduler

import (
	"log/slog"
	"sync"
)

// maxCachedKeys bounds platformKeyCache; past it the cache starts over.
const maxCachedKeys = 4096

// platformKeyCache remembers parsed platform keys, since every poll matches
// the worker against every non-empty queue.
type platformKeyCache struct {
	mu     sync.Mutex
	parsed map[string]Platform
}

func (c *platformKeyCache) platform(key string) (Platform, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.parsed[key]; ok {
		return p, nil
	}
	p, err := ParsePlatformKey(key)
	if err != nil {
		return nil, err
	}
	if c.parsed == nil || len(c.parsed) >= maxCachedKeys {
		c.parsed = make(map[string]Platform)
	}
	c.parsed[key] = p
	return p, nil
}

// matching returns the keys whose platform a worker offering offers can
// run.
func (c *platformKeyCache) matching(keys []string, offers offerSet, log *slog.Logger) []string {
	var out []string
	for _, k := range keys {
		p, err := c.platform(k)
		if err != nil {
			log.Error("skipping a queue with a malformed platform key", "key", k, "err", err)
			continue
		}
		if offers.satisfies(p) {
			out = append(out, k)
		}
	}
	return out
}
