package redisstate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/kilnbuild/kiln/scheduler"
)

// wrapErr names what failed and, when the cause is that Redis cannot be
// reached (or cannot serve right now), wraps scheduler.ErrUnavailable so
// that clients get UNAVAILABLE and retry. Other Redis errors (a script
// bug, a wrong key type) stay internal errors.
func wrapErr(what string, err error) error {
	if isUnavailable(err) {
		return fmt.Errorf("redis state: %s: %w: %w", what, scheduler.ErrUnavailable, err)
	}
	return fmt.Errorf("redis state: %s: %w", what, err)
}

// transientReplies are the error replies of a Redis that is starting,
// failing over or overloaded.
var transientReplies = []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY", "NOREPLICAS", "OOM"}

func isUnavailable(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) {
		return false
	}
	// The caller's own deadline or cancellation stays what it is.
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		msg := reply.Error()
		for _, p := range transientReplies {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return strings.Contains(msg, "max number of clients")
	}
	// Anything else is the connection: refused, reset, timed out, a
	// closed client or an exhausted pool.
	return true
}
