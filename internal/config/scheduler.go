package config

import "time"

// SchedulerConfig tunes the scheduler role: timeouts, leases and how long
// work and results are kept. Every field must be positive.
type SchedulerConfig struct {
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

func defaultScheduler() SchedulerConfig {
	return SchedulerConfig{
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
