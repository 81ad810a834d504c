package redisstate

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// pingInterval is how long the subscription may stay silent before a
	// PING checks that the connection still works; a PING unanswered for
	// another interval replaces the connection.
	pingInterval = 15 * time.Second
	// confirmTimeout bounds the wait for each subscription confirmation
	// at start-up when New's context has no deadline.
	confirmTimeout = 10 * time.Second
	minBackoff     = 50 * time.Millisecond
	maxBackoff     = 2 * time.Second
)

// subscription says what to do with the messages of each channel, and what
// to do after a reconnection, when messages may have been lost.
type subscription struct {
	channels     map[string]func(payload string)
	resubscribed func()
}

// subscriber holds one pub/sub connection for a State and dispatches its
// messages until closed. It reconnects on its own (go-redis resubscribes),
// with backoff while Redis is down.
type subscriber struct {
	client redis.UniversalClient
	sub    subscription
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu sync.Mutex
	ps *redis.PubSub
}

// subscribe subscribes to sub's channels and returns once Redis confirmed
// every subscription: from then on no published message is missed.
func subscribe(ctx context.Context, client redis.UniversalClient, sub subscription, log *slog.Logger) (*subscriber, error) {
	names := slices.Sorted(maps.Keys(sub.channels))
	ps := client.Subscribe(ctx, names...)
	for confirmed := 0; confirmed < len(names); {
		msg, err := ps.ReceiveTimeout(ctx, confirmTimeout)
		if err != nil {
			ps.Close()
			return nil, err
		}
		if _, ok := msg.(*redis.Subscription); ok {
			confirmed++
		}
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s := &subscriber{client: client, sub: sub, log: log, ctx: runCtx, cancel: cancel, done: make(chan struct{}), ps: ps}
	go s.loop()
	return s, nil
}

func (s *subscriber) loop() {
	defer close(s.done)
	backoff := minBackoff
	lost, silent := false, 0
	for {
		ps := s.current()
		if ps == nil {
			return
		}
		msg, err := ps.ReceiveTimeout(s.ctx, pingInterval)
		if s.ctx.Err() != nil {
			return
		}
		switch {
		case err != nil && isTimeout(err):
			silent++
			if silent > 1 {
				s.log.Warn("redis state: subscription silent after a PING; reconnecting")
				s.replace()
				lost, silent = true, 0
				continue
			}
			_ = ps.Ping(s.ctx) // answered by a Pong, or the next receive fails
		case err != nil:
			if !lost {
				s.log.Warn("redis state: lost the subscription to change signals; reconnecting", "err", err)
			}
			lost = true
			s.sleep(backoff)
			backoff = min(2*backoff, maxBackoff)
		default:
			silent, backoff = 0, minBackoff
			s.dispatch(msg, &lost)
		}
	}
}

func (s *subscriber) dispatch(msg any, lost *bool) {
	switch m := msg.(type) {
	case *redis.Message:
		if h, ok := s.sub.channels[m.Channel]; ok {
			h(m.Payload)
		}
	case *redis.Subscription:
		// Only a new connection subscribes: whatever was published
		// while there was none is lost.
		if *lost {
			s.log.Info("redis state: subscription restored")
			*lost = false
		}
		s.sub.resubscribed()
	}
}

func (s *subscriber) current() *redis.PubSub {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ps
}

// replace drops a connection that stopped answering for a fresh one.
func (s *subscriber) replace() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ps == nil {
		return
	}
	s.ps.Close()
	s.ps = s.client.Subscribe(s.ctx, slices.Sorted(maps.Keys(s.sub.channels))...)
}

func (s *subscriber) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.ctx.Done():
	}
}

func (s *subscriber) close() {
	s.cancel()
	s.mu.Lock()
	if s.ps != nil {
		s.ps.Close()
		s.ps = nil
	}
	s.mu.Unlock()
	<-s.done
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
