package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/internal/config"
	"github.com/kilnbuild/kiln/internal/redistest"
	"github.com/kilnbuild/kiln/scheduler"
)

func TestSchedulerStateMemoryLeavesTheStateToTheScheduler(t *testing.T) {
	b := &backends{conns: newConnections()}
	defer b.Close()
	state, err := b.openSchedulerState(context.Background(), config.Default(), slog.New(slog.DiscardHandler))
	if state != nil || err != nil || b.redis != nil {
		t.Errorf("memory state: %v, %v, redis client %v; want no State and no Redis", state, err, b.redis)
	}
}

// The replicas' keys go under redis.prefix, beside the action cache's,
// in one Redis Cluster hash slot; closing the backends releases the State
// and its client.
func TestSchedulerStateRedisKeepsOperationsUnderTheRedisPrefix(t *testing.T) {
	rdb := redistest.Start(t)
	cfg := config.Default()
	cfg.Scheduler.State = config.SchedulerStateRedis
	cfg.Redis = config.RedisConfig{Address: rdb.Addr(), Prefix: "e2e:"}
	ctx := context.Background()
	b := &backends{conns: newConnections()}
	state, err := b.openSchedulerState(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	now := time.Now()
	op := scheduler.Operation{ID: "op1", Name: "operations/op1", DedupKey: "dk1", QueueKey: "q",
		Stage: repb.ExecutionStage_QUEUED, CreatedAt: now, QueuedAt: now, EnqueuedAt: now}
	if _, _, err := state.Create(ctx, op, scheduler.JoinNone); err != nil {
		b.Close()
		t.Fatal(err)
	}
	keys := rdb.Client(t).Keys(ctx, "*").Val()
	if len(keys) == 0 {
		t.Error("Redis holds no keys after Create")
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "e2e:{scheduler}:") {
			t.Errorf("key %q is outside e2e:{scheduler}:", k)
		}
	}
	if err := b.Close(); err != nil {
		t.Errorf("closing the backends: %v", err)
	}
	// Its client is closed: calls fail instead of reaching Redis.
	if _, err := state.Get(ctx, op.ID); err == nil {
		t.Error("the State still answers after the backends closed its client")
	}
}

func TestServeRefusesARedisSchedulerStateItCannotReach(t *testing.T) {
	addr := reserveAddr(t)
	_, _, err := runCapture("serve", "--roles=scheduler", "--cas=grpc://127.0.0.1:1", "--scheduler-state=redis",
		"--redis="+addr, "--listen=127.0.0.1:0", "--metrics-listen=", "--data-dir="+t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "redis.address") || !strings.Contains(err.Error(), addr) {
		t.Errorf("serve with the scheduler's Redis down = %v, want an error naming redis.address and %s", err, addr)
	}
}

func reserveAddr(t *testing.T) string {
	return fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t))
}
