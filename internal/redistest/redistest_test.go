package redistest

import (
	"context"
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestStartServesAndRestartLosesData(t *testing.T) {
	ctx := context.Background()
	s := Start(t)
	c := s.Client(t)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET = %q, %v", got, err)
	}
	addr := s.Addr()
	s.Restart()
	if s.Addr() != addr {
		t.Errorf("restarted on %s, want the same address %s", s.Addr(), addr)
	}
	// The pooled connection died with the old server; go-redis redials.
	var err error
	for range 3 {
		if _, err = c.Get(ctx, "k").Result(); !isConnErr(err) {
			break
		}
	}
	if !errors.Is(err, redis.Nil) {
		t.Errorf("GET after a restart without persistence = %v, want redis.Nil", err)
	}
}

func isConnErr(err error) bool {
	return err != nil && !errors.Is(err, redis.Nil)
}

func TestStopRefusesConnections(t *testing.T) {
	s := Start(t)
	c := s.Client(t)
	s.Stop()
	if err := c.Ping(context.Background()).Err(); err == nil {
		t.Errorf("PING after Stop succeeded")
	}
	s.Stop() // stopping twice is harmless
}

func TestTwoServersGetDistinctPorts(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("both servers on %s", a.Addr())
	}
	ctx := context.Background()
	a.Client(t).Set(ctx, "k", "a", 0)
	if err := b.Client(t).Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("a key set on one server is visible on the other: %v", err)
	}
}

func TestExtraArgsReachTheServer(t *testing.T) {
	s := Start(t, "--appendonly", "yes")
	got, err := s.Client(t).ConfigGet(context.Background(), "appendonly").Result()
	if err != nil || got["appendonly"] != "yes" {
		t.Errorf("CONFIG GET appendonly = %v, %v; want yes", got, err)
	}
}
