package config

import (
	"errors"
	"fmt"
	"time"
)

// SchedulerConfig tunes the scheduler role: where its state lives,
// timeouts, leases and how long work and results are kept. Every duration
// and count must be positive.
type SchedulerConfig struct {
	// State is where operations, queues and leases live: memory (this
	// process only) or redis (the server of the redis section, shared by
	// every scheduler replica on it).
	State string `yaml:"state"`
	// DefaultTimeout applies to actions that set no timeout.
	DefaultTimeout time.Duration `yaml:"default_timeout"`
	// MaxTimeout is the largest timeout an action may ask for; more is
	// rejected with INVALID_ARGUMENT.
	MaxTimeout time.Duration `yaml:"max_timeout"`
	// LeaseDuration is how long a worker holds an action without a
	// heartbeat before it goes back to the queue.
	LeaseDuration time.Duration `yaml:"lease_duration"`
	// PollTimeout is how long a worker's poll is held open when there is
	// no work.
	PollTimeout time.Duration `yaml:"poll_timeout"`
	// MaxAttempts bounds how often an action is handed out before lost
	// leases fail it.
	MaxAttempts int `yaml:"max_attempts"`
	// CompletedRetention is how long a finished operation can still be
	// looked up (WaitExecution, GetOperation).
	CompletedRetention time.Duration `yaml:"completed_retention"`
	// NoWorkerGrace is how long an action waits for a worker able to run
	// its platform before it fails with a message saying so.
	NoWorkerGrace time.Duration `yaml:"no_worker_grace"`
	// MaxQueueAge fails work that waited in a queue longer than this.
	MaxQueueAge time.Duration `yaml:"max_queue_age"`
}

// Scheduler defaults; they equal the scheduler package's own (a test in
// cmd/kiln keeps them in step) but are spelled out here so that -help and
// the README show them without config importing the scheduler.
const (
	DefaultActionTimeout      = 15 * time.Minute
	DefaultMaxActionTimeout   = time.Hour
	DefaultLeaseDuration      = 30 * time.Second
	DefaultPollTimeout        = time.Minute
	DefaultMaxAttempts        = 3
	DefaultCompletedRetention = 10 * time.Minute
	DefaultNoWorkerGrace      = time.Minute
	DefaultMaxQueueAge        = 24 * time.Hour
)

// Scheduler states, as scheduler.state names them.
const (
	SchedulerStateMemory = "memory"
	SchedulerStateRedis  = "redis"
)

func defaultScheduler() SchedulerConfig {
	return SchedulerConfig{
		State:              SchedulerStateMemory,
		DefaultTimeout:     DefaultActionTimeout,
		MaxTimeout:         DefaultMaxActionTimeout,
		LeaseDuration:      DefaultLeaseDuration,
		PollTimeout:        DefaultPollTimeout,
		MaxAttempts:        DefaultMaxAttempts,
		CompletedRetention: DefaultCompletedRetention,
		NoWorkerGrace:      DefaultNoWorkerGrace,
		MaxQueueAge:        DefaultMaxQueueAge,
	}
}

// validateState checks scheduler.state and that a redis state has its
// server in the shared redis section.
func (s SchedulerConfig) validateState(r RedisConfig) []error {
	switch s.State {
	case SchedulerStateMemory:
		return nil
	case SchedulerStateRedis:
		if r.Address == "" {
			return []error{errors.New("redis.address: scheduler.state redis needs the address of the Redis server (--redis)")}
		}
		return nil
	}
	return []error{fmt.Errorf("scheduler.state: %q is not one of %s, %s", s.State, SchedulerStateMemory, SchedulerStateRedis)}
}
