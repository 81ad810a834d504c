package redisstate_test

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/kilnbuild/kiln/internal/redistest"
	"github.com/kilnbuild/kiln/scheduler"
	"github.com/kilnbuild/kiln/scheduler/redisstate"
	"github.com/kilnbuild/kiln/scheduler/statetest"
)

// newState returns a State on srv under a fresh prefix, so that tests
// sharing one server see only their own keys. It is closed when t ends.
func newState(t testing.TB, srv *redistest.Server, opts redisstate.Options) *redisstate.State {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = uniquePrefix()
	}
	s, err := redisstate.New(context.Background(), srv.Client(t), opts)
	if err != nil {
		t.Fatalf("redisstate.New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func uniquePrefix() string { return "test:{" + rand.Text() + "}:" }

func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	const limit = 4096
	statetest.Run(t, statetest.Config{
		New: func(t *testing.T) scheduler.State {
			return newState(t, srv, redisstate.Options{OutputLimit: limit})
		},
		OutputLimit: limit,
	})
}
