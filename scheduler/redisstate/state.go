// Package redisstate is scheduler.State on Redis, so that several scheduler
// replicas serve clients and workers active-active against one Redis (or a
// Redis Cluster, see Options.Prefix). It owns the layout of the scheduler's
// keys and the Lua scripts that change them; it decides nothing about
// scheduling, which stays in package scheduler.
//
// Layout, under Options.Prefix (P):
//
//	P op:{id}        hash: the operation (JSON in field d) and the fields
//	                 the scripts read: stage, version, queue sequence,
//	                 attempt, lease, priority, queue and dedup keys
//	P q:{queue}      zset: queued operations, score priority, member
//	                 "{sequence, 16 hex digits}:{id}" (FIFO within a priority)
//	P qt:{queue}     zset: the same operations by queued-at time (µs)
//	P queues         set: the queue keys that hold operations
//	P leases         zset: executing operations by lease expiry (µs)
//	P done           zset: completed operations by done-at time (µs)
//	P inflight       hash: dedup key → operation id
//	P stages         hash: stage → count of operations not completed
//	P out:{id}:{1|2} string: the tail of live stdout/stderr
//	P w:{id}         string with a TTL: a worker's offers and capacity
//	P workers        zset: workers by last seen (µs)
//	P seq            string: the last queue sequence handed out
//	P claim:{token}  string, short TTL: makes a retried Claim idempotent
//	P ch:work        pub/sub: a queue key, when work is queued
//	P ch:op          pub/sub: "{version}:{id}" when an operation changes,
//	                 "d:{id}" when it is deleted
//	P ch:out         pub/sub: an id, when its output grows or closes
//
// Every change is one Lua script, so it is atomic with its index updates;
// Update reads, applies its function in Go and commits only if the version
// it read is still current (optimistic concurrency). Completed operations
// and their output keep a TTL of Options.CompletedRetention. Signals
// (WorkAvailable, OperationChanged, OutputChanged) travel by pub/sub: each
// State holds one subscription and wakes its local waiters; after a lost
// connection it wakes them all, since messages may have been missed. Since
// every queued action wakes every idle poller, a claimGate lets the
// pollers of one State share their QueueKeys and empty Claim answers.
package redisstate

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kilnbuild/kiln/scheduler"
)

// DefaultPrefix keeps every key in one Redis Cluster hash slot (the part in
// braces), which the multi-key scripts need.
const DefaultPrefix = "kiln:{scheduler}:"

// DefaultWorkerTTL is how long a worker's registry entry lives in Redis
// without a poll or heartbeat.
const DefaultWorkerTTL = 10 * time.Minute

// Options configures a State. Zero values take the defaults.
type Options struct {
	// Prefix namespaces every key and pub/sub channel, so that several
	// Kiln clusters (or tests) can share one Redis. On Redis Cluster it
	// must contain a hash tag ("{...}"); DefaultPrefix does.
	Prefix string
	// OutputLimit is how many recent bytes of each live output stream are
	// kept; default scheduler.DefaultOutputLimit.
	OutputLimit int
	// CompletedRetention is the TTL of a completed operation and its
	// output. Set it to the scheduler's CompletedRetention (default
	// scheduler.DefaultCompletedRetention): the sweeper's DeleteCompleted
	// forgets operations at the same age, the TTL covers the time when no
	// scheduler runs.
	CompletedRetention time.Duration
	// WorkerTTL is how long a worker's registry entry lives without a
	// poll or heartbeat; default DefaultWorkerTTL. Keep it above the
	// scheduler's WorkerTTL.
	WorkerTTL time.Duration
	// ClaimConcurrency bounds the Claims this State runs in Redis at once
	// (the others wait, and learn from them when the queues are empty);
	// default DefaultClaimConcurrency.
	ClaimConcurrency int
	// Logger receives connection trouble of the pub/sub subscription.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.OutputLimit <= 0 {
		o.OutputLimit = scheduler.DefaultOutputLimit
	}
	if o.CompletedRetention <= 0 {
		o.CompletedRetention = scheduler.DefaultCompletedRetention
	}
	if o.WorkerTTL <= 0 {
		o.WorkerTTL = DefaultWorkerTTL
	}
	if o.ClaimConcurrency <= 0 {
		o.ClaimConcurrency = DefaultClaimConcurrency
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// State is scheduler.State on Redis. It is safe for concurrent use; any
// number of States (in any number of processes) may share one Redis and
// prefix.
type State struct {
	client redis.UniversalClient
	opts   Options
	prefix string
	keys   []string // {prefix}: what every script gets as KEYS

	scripts    scripts
	gate       *claimGate
	work       *signals // key "" only
	opChanged  *opSignals
	outChanged *signals
	sub        *subscriber

	stop      context.CancelFunc
	stopped   sync.WaitGroup
	closeOnce sync.Once
}

var _ scheduler.State = (*State)(nil)

// New returns a State that keeps its data in Redis through client, which
// the caller owns (and closes after Close). It checks that Redis answers
// and subscribes to the change channels before it returns, so that no
// signal published afterwards is missed; ctx bounds that start-up only.
//
// A scheduler replica wires it as
//
//	client := redis.NewClient(&redis.Options{Addr: "redis:6379"})
//	state, err := redisstate.New(ctx, client, redisstate.Options{CompletedRetention: retention})
//	sched, err := scheduler.New(scheduler.Options{State: state, CompletedRetention: retention, ...})
//	defer client.Close(); defer state.Close(); defer sched.Close()
//
// Errors that mean Redis cannot be reached wrap scheduler.ErrUnavailable.
func New(ctx context.Context, client redis.UniversalClient, opts Options) (*State, error) {
	if client == nil {
		return nil, errors.New("redisstate: client is nil")
	}
	opts = opts.withDefaults()
	s := &State{
		client:     client,
		opts:       opts,
		prefix:     opts.Prefix,
		keys:       []string{opts.Prefix},
		scripts:    loadScripts(),
		gate:       newClaimGate(opts.ClaimConcurrency),
		work:       newSignals(),
		opChanged:  newOpSignals(),
		outChanged: newSignals(),
	}
	if err := client.Ping(ctx).Err(); err != nil {
		return nil, wrapErr("connecting to Redis", err)
	}
	sub, err := subscribe(ctx, client, s.handlers(), opts.Logger)
	if err != nil {
		return nil, wrapErr("subscribing to the scheduler's channels", err)
	}
	s.sub = sub
	pruneCtx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.stopped.Go(func() { s.pruneLoop(pruneCtx) })
	return s, nil
}

// Close ends the subscription and wakes every waiter. It does not close the
// client.
func (s *State) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		s.stopped.Wait()
		s.sub.close()
		s.fireAll()
	})
	return nil
}

// handlers maps each channel to what a message on it wakes.
func (s *State) handlers() subscription {
	return subscription{
		channels: map[string]func(payload string){
			s.prefix + "ch:work": func(string) { s.workQueued() },
			s.prefix + "ch:op":   s.opChanged.message,
			s.prefix + "ch:out":  s.outChanged.fire,
		},
		// Messages published while the connection was down are lost:
		// every waiter looks again.
		resubscribed: s.fireAll,
	}
}

// workQueued wakes the pollers. The gate learns first, so that a woken
// poller never gets an answer from before.
func (s *State) workQueued() {
	s.gate.workQueued()
	s.work.fire("")
}

func (s *State) fireAll() {
	s.gate.workQueued()
	s.work.fireAll()
	s.opChanged.fireAll()
	s.outChanged.fireAll()
}

func (s *State) opKey(id string) string { return s.prefix + "op:" + id }

// run runs a script with the prefix as its key.
func (s *State) run(ctx context.Context, sc *redis.Script, args ...any) (any, error) {
	return sc.Run(ctx, s.client, s.keys, args...).Result()
}

// nonce makes a write recognisable when go-redis retries it after a lost
// reply, so that the retry does not apply it twice.
func nonce() string { return rand.Text() }

func notFound(what, id string) error {
	return fmt.Errorf("%s %s: %w", what, id, scheduler.ErrNotFound)
}
