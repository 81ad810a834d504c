package config

import (
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestSchedulerStateDefaultsToMemory(t *testing.T) {
	if s := Default().Scheduler.State; s != SchedulerStateMemory {
		t.Errorf("default scheduler.state = %q, want %q", s, SchedulerStateMemory)
	}
}

func TestSchedulerStateRedisReadsTheSharedRedisSection(t *testing.T) {
	cfg, err := Load(writeFile(t, "roles: [scheduler]\nscheduler: {state: redis}\nredis: {address: \"redis-state:6379\", prefix: \"farm1:\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Scheduler.State != SchedulerStateRedis || cfg.Redis.Address != "redis-state:6379" || cfg.Redis.Prefix != "farm1:" {
		t.Errorf("scheduler.state %q, redis %+v; want redis on redis-state:6379 under farm1:", cfg.Scheduler.State, cfg.Redis)
	}
}

func TestSchedulerStateMistakesAreNamed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		apply func(*Config)
		want  string
	}{
		{"unknown state", func(c *Config) { c.Scheduler.State = "etcd" }, `scheduler.state: "etcd" is not one of memory, redis`},
		{"empty state", func(c *Config) { c.Scheduler.State = "" }, "scheduler.state"},
		{"redis without address", func(c *Config) { c.Scheduler.State = SchedulerStateRedis }, "redis.address: scheduler.state redis"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.apply(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestServeFlagsPutTheSchedulerStateOnRedis(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := BindServeFlags(fs)
	if err := fs.Parse([]string{"--roles=scheduler", "--cas=grpc://cas:8980", "--scheduler-state=redis", "--redis=127.0.0.1:6379"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Scheduler.State != SchedulerStateRedis || cfg.Redis.Address != "127.0.0.1:6379" {
		t.Errorf("scheduler.state %q, redis.address %q; want the flags'", cfg.Scheduler.State, cfg.Redis.Address)
	}
}

// The farm example runs several scheduler replicas: they must share their
// state, or each would only know its own clients' operations.
func TestDeploySchedulerConfigSharesItsStateInRedis(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "deploy", "config", "scheduler.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Scheduler.State != SchedulerStateRedis || cfg.Redis.Address == "" {
		t.Errorf("deploy/config/scheduler.yaml: scheduler.state %q, redis.address %q; want redis, with an address",
			cfg.Scheduler.State, cfg.Redis.Address)
	}
}
