package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/kilnbuild/kiln/cas"
	workerpb "github.com/kilnbuild/kiln/proto/kiln/worker/v1"
)

// Options configure an Agent.
type Options struct {
	// Gateway is the scheduler's WorkerGateway. Required.
	Gateway workerpb.WorkerGatewayClient
	// CAS holds inputs and receives outputs. Required.
	CAS cas.BlobStore
	// ActionCache receives the results of cacheable actions. Required.
	ActionCache ActionCacheWriter
	// Runner runs commands; default a ProcessRunner.
	Runner Runner
	// DataDir holds the file cache (DataDir/cache) and the action
	// directories (DataDir/actions), which are wiped at start: it must
	// not be shared with another agent. Hardlinks need both on one
	// filesystem (else inputs are copied). Required.
	DataDir string
	// Concurrency is how many actions run at once; default runtime.NumCPU().
	Concurrency int
	// FetchConcurrency bounds parallel CAS requests per action; default 32.
	FetchConcurrency int
	// Platform is what the worker offers; default OSFamily and ISA of the
	// host, named as in the REAPI platform lexicon.
	Platform []*workerpb.Property
	// WorkerID names the worker; default hostname-pid-random.
	WorkerID string
	// FileCacheMaxBytes bounds the local input file cache; default 10 GiB.
	FileCacheMaxBytes int64
	// AllowAbsoluteSymlinks accepts absolute symlinks in inputs and
	// outputs. It must match the symlink_absolute_path_strategy the
	// server advertises; the default is DISALLOWED.
	AllowAbsoluteSymlinks bool
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Registerer receives the worker's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Agent is a worker: it pulls leased actions from the scheduler and runs
// them, up to Concurrency at once.
//
// On shutdown (ctx of Run ends) it kills the running actions and does not
// complete their leases: the scheduler puts an expired lease's action back
// in its queue, which retries it elsewhere without the client seeing a
// failure, whereas a completion can only carry a result.
type Agent struct {
	opts   Options
	log    *slog.Logger
	m      *metrics
	files  *fileCache
	inputs *inputFetcher

	mu      sync.Mutex
	leases  map[string]*heldLease
	changed chan struct{} // signalled when a lease is added
}

// heldLease is a lease the worker works on.
type heldLease struct {
	lease  *workerpb.Lease
	expire time.Time
	cancel context.CancelCauseFunc
}

// New checks opts, applies defaults and opens the file cache.
func New(opts Options) (*Agent, error) {
	switch {
	case opts.Gateway == nil:
		return nil, errors.New("worker: Options.Gateway is required")
	case opts.CAS == nil:
		return nil, errors.New("worker: Options.CAS is required")
	case opts.ActionCache == nil:
		return nil, errors.New("worker: Options.ActionCache is required")
	case opts.DataDir == "":
		return nil, errors.New("worker: Options.DataDir is required")
	}
	if opts.Runner == nil {
		opts.Runner = NewProcessRunner()
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = runtime.NumCPU()
	}
	if opts.FetchConcurrency <= 0 {
		opts.FetchConcurrency = 32
	}
	if len(opts.Platform) == 0 {
		opts.Platform = DefaultPlatform()
	}
	if opts.WorkerID == "" {
		opts.WorkerID = defaultWorkerID()
	}
	if opts.FileCacheMaxBytes <= 0 {
		opts.FileCacheMaxBytes = 10 << 30
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	a := &Agent{
		opts:    opts,
		log:     opts.Logger.With("worker", opts.WorkerID),
		m:       newMetrics(opts.Registerer),
		leases:  make(map[string]*heldLease),
		changed: make(chan struct{}, 1),
	}
	// Directories of actions that a crashed run left behind.
	actionsDir := filepath.Join(opts.DataDir, "actions")
	if err := removeAllForce(actionsDir); err != nil {
		return nil, fmt.Errorf("worker: cleaning %s: %w", actionsDir, err)
	}
	if err := os.MkdirAll(actionsDir, 0o755); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	files, err := newFileCache(filepath.Join(opts.DataDir, "cache"), opts.FileCacheMaxBytes, opts.CAS, a.m)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	a.files = files
	a.inputs = &inputFetcher{cas: opts.CAS, files: files, concurrency: opts.FetchConcurrency,
		allowAbsoluteSymlinks: opts.AllowAbsoluteSymlinks}
	return a, nil
}

// DefaultPlatform describes the host in the REAPI platform lexicon.
func DefaultPlatform() []*workerpb.Property {
	osFamily := runtime.GOOS
	if osFamily == "darwin" {
		osFamily = "macos"
	}
	isa := map[string]string{
		"amd64": "x86-64", "386": "x86-32", "arm64": "arm-a64", "arm": "arm-a32",
		"riscv64": "rv64g", "ppc64le": "power-isa-le", "ppc64": "power-isa-be",
		"loong64": "la64v100", "sparc64": "sparc-v9",
	}[runtime.GOARCH]
	if isa == "" {
		isa = runtime.GOARCH
	}
	return []*workerpb.Property{{Name: "ISA", Value: isa}, {Name: "OSFamily", Value: osFamily}}
}

func defaultWorkerID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "worker"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// WorkerID is the name the agent reports to the scheduler and in
// ExecutedActionMetadata.
func (a *Agent) WorkerID() string { return a.opts.WorkerID }

// Run pulls and runs actions until ctx ends, then kills what still runs,
// waits for it, and returns nil.
func (a *Agent) Run(ctx context.Context) error {
	a.log.Info("worker started", "concurrency", a.opts.Concurrency, "data_dir", a.opts.DataDir)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.heartbeatLoop(ctx)
	}()

	slots := make(chan struct{}, a.opts.Concurrency)
	retry := newBackoff(100*time.Millisecond, 30*time.Second)
	info := &workerpb.WorkerInfo{WorkerId: a.opts.WorkerID, Platform: a.opts.Platform, Capacity: int32(a.opts.Concurrency)}
	for ctx.Err() == nil {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		started := time.Now()
		resp, err := a.opts.Gateway.Poll(ctx, &workerpb.PollRequest{Worker: info, LeaseIds: a.heldIDs()})
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				break
			}
			a.m.gatewayFailures.WithLabelValues("poll").Inc()
			delay := retry.next()
			a.log.Warn("polling the scheduler failed", "err", err, "retry_in", delay)
			sleep(ctx, delay)
			continue
		}
		retry.reset()
		l := resp.GetLease()
		if l == nil {
			<-slots
			// A scheduler that does not hold polls must not make
			// the worker spin.
			if time.Since(started) < time.Second {
				sleep(ctx, 500*time.Millisecond)
			}
			continue
		}
		actionCtx := a.hold(ctx, l)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			a.runLease(ctx, actionCtx, l)
		}()
	}
	wg.Wait()
	a.log.Info("worker stopped")
	return nil
}

// hold registers l as held and returns the context its action runs in.
func (a *Agent) hold(ctx context.Context, l *workerpb.Lease) context.Context {
	actionCtx, cancel := context.WithCancelCause(ctx)
	expire := time.Now().Add(30 * time.Second)
	if et := l.GetExpireTime(); et != nil {
		expire = et.AsTime()
	}
	a.mu.Lock()
	a.leases[l.GetLeaseId()] = &heldLease{lease: l, expire: expire, cancel: cancel}
	a.mu.Unlock()
	select {
	case a.changed <- struct{}{}:
	default:
	}
	a.m.running.Inc()
	return actionCtx
}

func (a *Agent) release(id string) {
	a.mu.Lock()
	if h, ok := a.leases[id]; ok {
		h.cancel(context.Canceled)
		delete(a.leases, id)
	}
	a.mu.Unlock()
	a.m.running.Dec()
}

func (a *Agent) heldIDs() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	ids := make([]string, 0, len(a.leases))
	for id := range a.leases {
		ids = append(ids, id)
	}
	return ids
}

// runLease executes one lease and completes it.
func (a *Agent) runLease(ctx, actionCtx context.Context, l *workerpb.Lease) {
	defer a.release(l.GetLeaseId())
	resp := a.execute(actionCtx, l)
	if resp == nil {
		a.m.actions.WithLabelValues("abandoned").Inc()
		return
	}
	a.m.actions.WithLabelValues(codes.Code(resp.GetStatus().GetCode()).String()).Inc()
	packed, err := anypb.New(resp)
	if err != nil {
		a.log.Error("packing the ExecuteResponse", "lease", l.GetLeaseId(), "err", err)
		return
	}
	req := &workerpb.CompleteRequest{WorkerId: a.opts.WorkerID, LeaseId: l.GetLeaseId(), ExecuteResponse: packed}
	retry := newBackoff(100*time.Millisecond, 10*time.Second)
	for attempt := 1; ; attempt++ {
		_, err := a.opts.Gateway.Complete(ctx, req)
		if err == nil {
			return
		}
		a.m.gatewayFailures.WithLabelValues("complete").Inc()
		// Past a few minutes the lease has expired and the action is
		// queued again: the completion would be ignored anyway.
		if attempt == completeAttempts || ctx.Err() != nil {
			a.log.Error("completing the lease failed; it will expire", "lease", l.GetLeaseId(), "err", err)
			return
		}
		delay := retry.next()
		a.log.Warn("completing the lease failed", "lease", l.GetLeaseId(), "err", err, "retry_in", delay)
		if !sleep(ctx, delay) {
			return
		}
	}
}

// completeAttempts bounds the retries of a Complete call.
const completeAttempts = 20

// heartbeatLoop renews held leases about three times per lease period and
// stops the actions the scheduler takes back.
func (a *Agent) heartbeatLoop(ctx context.Context) {
	for {
		interval, held := a.heartbeatInterval()
		if !held {
			select {
			case <-a.changed:
				continue
			case <-ctx.Done():
				return
			}
		}
		if !sleep(ctx, interval) {
			return
		}
		ids := a.heldIDs()
		if len(ids) == 0 {
			continue
		}
		resp, err := a.opts.Gateway.Heartbeat(ctx, &workerpb.HeartbeatRequest{WorkerId: a.opts.WorkerID, LeaseIds: ids})
		if err != nil {
			if ctx.Err() == nil {
				a.m.gatewayFailures.WithLabelValues("heartbeat").Inc()
				a.log.Warn("heartbeat failed", "err", err)
			}
			continue
		}
		a.renew(ids, resp)
	}
}

// heartbeatInterval is a third of the shortest remaining lease time.
func (a *Agent) heartbeatInterval() (time.Duration, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.leases) == 0 {
		return 0, false
	}
	soonest := time.Duration(1<<63 - 1)
	for _, h := range a.leases {
		soonest = min(soonest, time.Until(h.expire))
	}
	if soonest <= 0 {
		// Expired by our clock and not renewed: keep trying, gently.
		return time.Second, true
	}
	return min(max(soonest/3, 100*time.Millisecond), 30*time.Second), true
}

func (a *Agent) renew(sent []string, resp *workerpb.HeartbeatResponse) {
	abandon := make(map[string]bool, len(resp.GetAbandonLeaseIds()))
	for _, id := range resp.GetAbandonLeaseIds() {
		abandon[id] = true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range sent {
		h, ok := a.leases[id]
		if !ok {
			continue
		}
		if abandon[id] {
			a.log.Info("the scheduler abandoned the lease; stopping the action", "lease", id)
			h.cancel(errAbandoned)
			continue
		}
		if et := resp.GetExpireTime(); et != nil {
			h.expire = et.AsTime()
		}
	}
}
