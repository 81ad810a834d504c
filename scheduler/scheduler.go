// Package scheduler owns remote execution's control plane: the REAPI
// Execution and Operations services, in-flight dedup, platform queues with
// priorities, leases, and the worker gateway that workers long-poll.
//
// Everything shared lives behind State (in memory for one process, in Redis
// for several replicas); the decisions are made here, above it. The
// scheduler never runs actions, and never writes the action cache: a worker
// writes the AC entry of a cacheable success itself (it has the result and
// the outputs at hand), and the scheduler relays the ExecuteResponse.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/kilnbuild/kiln/actioncache"
	"github.com/kilnbuild/kiln/cas"
	workerpb "github.com/kilnbuild/kiln/proto/kiln/worker/v1"
)

// Options configures a Scheduler. Zero durations and counts take the
// defaults below.
type Options struct {
	// State holds operations, queues and leases; NewMemoryState() if nil.
	State State
	// CAS is read to validate an action and find its missing inputs.
	CAS cas.BlobStore
	// ActionCache is looked up before an action is queued; nil means
	// every lookup misses.
	ActionCache actioncache.Store
	Logger      *slog.Logger
	// Registerer receives the scheduler's metrics; nil registers none.
	Registerer prometheus.Registerer

	// DefaultTimeout applies to actions without a timeout; MaxTimeout is
	// the largest a client may ask for.
	DefaultTimeout time.Duration
	MaxTimeout     time.Duration
	// LeaseDuration is how long a lease lives without a heartbeat.
	LeaseDuration time.Duration
	// PollTimeout is how long a Poll waits for work before returning empty.
	PollTimeout time.Duration
	// MaxAttempts bounds how often an action is handed out before its
	// lost leases fail it.
	MaxAttempts int
	// CompletedRetention is how long a finished operation can still be
	// looked up (WaitExecution, GetOperation).
	CompletedRetention time.Duration
	// NoWorkerGrace is how long an action may wait for a worker that can
	// run its platform to show up before it fails.
	NoWorkerGrace time.Duration
	// MaxQueueAge fails work that waited in a queue longer than this.
	MaxQueueAge time.Duration
	// WorkerTTL is how long a worker counts as alive after its last poll
	// or heartbeat; default 2*PollTimeout + LeaseDuration.
	WorkerTTL time.Duration
	// SweepInterval is how often leases, queues and retention are
	// checked; default a quarter of LeaseDuration, at most 5 s.
	SweepInterval time.Duration
}

// Defaults for Options.
const (
	DefaultTimeout            = 15 * time.Minute
	DefaultMaxTimeout         = time.Hour
	DefaultLeaseDuration      = 30 * time.Second
	DefaultPollTimeout        = time.Minute
	DefaultMaxAttempts        = 3
	DefaultCompletedRetention = 10 * time.Minute
	DefaultNoWorkerGrace      = time.Minute
	DefaultMaxQueueAge        = 24 * time.Hour
)

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (o Options) withDefaults() Options {
	if o.State == nil {
		o.State = NewMemoryState()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.DefaultTimeout = orDefault(o.DefaultTimeout, DefaultTimeout)
	o.MaxTimeout = orDefault(o.MaxTimeout, DefaultMaxTimeout)
	o.LeaseDuration = orDefault(o.LeaseDuration, DefaultLeaseDuration)
	o.PollTimeout = orDefault(o.PollTimeout, DefaultPollTimeout)
	o.MaxAttempts = orDefault(o.MaxAttempts, DefaultMaxAttempts)
	o.CompletedRetention = orDefault(o.CompletedRetention, DefaultCompletedRetention)
	o.NoWorkerGrace = orDefault(o.NoWorkerGrace, DefaultNoWorkerGrace)
	o.MaxQueueAge = orDefault(o.MaxQueueAge, DefaultMaxQueueAge)
	o.WorkerTTL = orDefault(o.WorkerTTL, 2*o.PollTimeout+o.LeaseDuration)
	o.SweepInterval = orDefault(o.SweepInterval, min(o.LeaseDuration/4, 5*time.Second))
	return o
}

func (o Options) validate() error {
	if o.CAS == nil {
		return errors.New("scheduler: Options.CAS is required")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"DefaultTimeout", o.DefaultTimeout}, {"MaxTimeout", o.MaxTimeout}, {"LeaseDuration", o.LeaseDuration},
		{"PollTimeout", o.PollTimeout}, {"CompletedRetention", o.CompletedRetention}, {"NoWorkerGrace", o.NoWorkerGrace},
		{"MaxQueueAge", o.MaxQueueAge}, {"WorkerTTL", o.WorkerTTL}, {"SweepInterval", o.SweepInterval},
	} {
		if d.v < 0 {
			return fmt.Errorf("scheduler: Options.%s is negative (%v)", d.name, d.v)
		}
	}
	if o.SweepInterval == 0 {
		return errors.New("scheduler: Options.LeaseDuration is too short to derive a sweep interval")
	}
	if o.DefaultTimeout > o.MaxTimeout {
		return fmt.Errorf("scheduler: DefaultTimeout %v exceeds MaxTimeout %v", o.DefaultTimeout, o.MaxTimeout)
	}
	if o.MaxAttempts < 1 {
		return fmt.Errorf("scheduler: MaxAttempts %d must be at least 1", o.MaxAttempts)
	}
	return nil
}

// Scheduler serves Execution, Operations and the WorkerGateway over one
// State.
type Scheduler struct {
	opts    Options
	state   State
	log     *slog.Logger
	metrics *metrics
	keys    platformKeyCache

	// closing is closed by Close: long polls and operation streams end
	// at once instead of holding a server's graceful stop for a minute.
	closing   chan struct{}
	closeOnce sync.Once
	sweeper   sync.WaitGroup
}

// New returns a Scheduler and starts its background sweeper.
func New(opts Options) (*Scheduler, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	s := &Scheduler{
		opts:    opts,
		state:   opts.State,
		log:     opts.Logger.With("component", "scheduler"),
		closing: make(chan struct{}),
	}
	m, err := newMetrics(opts.Registerer, opts.State)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.sweeper.Go(s.sweepLoop)
	return s, nil
}

// Register registers the Execution, Operations and WorkerGateway services.
func (s *Scheduler) Register(r grpc.ServiceRegistrar) {
	repb.RegisterExecutionServer(r, &executionServer{s: s})
	longrunningpb.RegisterOperationsServer(r, &operationsServer{s: s})
	workerpb.RegisterWorkerGatewayServer(r, &workerGateway{s: s})
}

// Close stops the background work and ends waiting polls and streams (with
// UNAVAILABLE, so that clients come back). The State is left as it is.
func (s *Scheduler) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.sweeper.Wait()
		s.metrics.unregister()
	})
	return nil
}

// detached returns a context that is not cancelled with ctx (an operation
// outlives the call that started it) but carries its values.
func detached(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }
