package main

import (
	"context"
	"log/slog"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/kilnbuild/kiln/actioncache"
	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/capabilities"
	"github.com/kilnbuild/kiln/internal/config"
	"github.com/kilnbuild/kiln/scheduler"
)

// absoluteSymlinks is the one source of truth for absolute symlinks in
// input and output trees: Capabilities advertises it, and every worker
// Kiln starts (local or `kiln worker`) is configured from it, so that what
// clients are told is what workers do. See
// capabilities.Options.SymlinkAbsolutePathStrategy for why ALLOWED.
const absoluteSymlinks = repb.SymlinkAbsolutePathStrategy_ALLOWED

// workersAllowAbsoluteSymlinks is absoluteSymlinks as worker.Options wants it.
const workersAllowAbsoluteSymlinks = absoluteSymlinks == repb.SymlinkAbsolutePathStrategy_ALLOWED

// newScheduler builds the scheduler role on the node's stores: the CAS it
// validates actions against and the very action cache Store the
// ActionCache service serves (completeness-checked), so that Execute and
// GetActionResult agree on what is a hit. Its State is scheduler.state's
// (see openSchedulerState), which b closes after the scheduler.
func newScheduler(ctx context.Context, cfg config.Config, b *backends, logger *slog.Logger, reg prometheus.Registerer) (*scheduler.Scheduler, error) {
	state, err := b.openSchedulerState(ctx, cfg, logger.With("component", "scheduler_state"))
	if err != nil {
		return nil, err
	}
	s := cfg.Scheduler
	return scheduler.New(scheduler.Options{
		State:              state,
		CAS:                b.blobs,
		ActionCache:        b.results,
		Logger:             logger,
		Registerer:         reg,
		DefaultTimeout:     s.DefaultTimeout,
		MaxTimeout:         s.MaxTimeout,
		LeaseDuration:      s.LeaseDuration,
		PollTimeout:        s.PollTimeout,
		MaxAttempts:        s.MaxAttempts,
		CompletedRetention: s.CompletedRetention,
		NoWorkerGrace:      s.NoWorkerGrace,
		MaxQueueAge:        s.MaxQueueAge,
	})
}

// registerServices puts the services of cfg's roles on r, and always
// Capabilities, which describes exactly those: it is given the same limits
// and switches as the services that enforce them. sched is nil without the
// scheduler role. The returned func releases the services' state
// (interrupted uploads) once the server has stopped.
func registerServices(r *grpc.Server, cfg config.Config, b *backends, sched *scheduler.Scheduler,
	logger *slog.Logger, reg prometheus.Registerer) (closeServices func() error) {
	closeServices = func() error { return nil }
	caps := capabilities.Options{SymlinkAbsolutePathStrategy: absoluteSymlinks}

	if cfg.Serves(config.RoleCAS) {
		caps.MaxBatchTotalSizeBytes = cfg.CAS.MaxBatchTotalSize.Bytes()
		// The disk CAS refuses a blob larger than its whole cap.
		caps.MaxCASBlobSizeBytes = cfg.CAS.MaxSize.Bytes()
		cas.NewCASServer(b.blobs, cas.CASServerOptions{
			MaxBatchTotalSizeBytes: caps.MaxBatchTotalSizeBytes,
			Logger:                 logger.With("component", "cas"),
			Registerer:             reg,
		}).Register(r)
	}

	// ByteStream carries the blobs of the CAS role and the live
	// stdout/stderr of the scheduler role (checklist item 20). A scheduler
	// without the CAS still serves the logs it hands out names for; blob
	// reads and writes there pass through to the remote CAS.
	if cfg.Serves(config.RoleCAS) || sched != nil {
		opts := cas.ByteStreamServerOptions{Logger: logger.With("component", "bytestream"), Registerer: reg}
		if sched != nil {
			opts.Streams = sched.StreamSource()
		}
		byteStream := cas.NewByteStreamServer(b.blobs, opts)
		byteStream.Register(r)
		closeServices = byteStream.Close
	}

	if cfg.Serves(config.RoleActionCache) {
		caps.UpdateEnabled = cfg.ActionCache.UpdateEnabled
		actioncache.NewServer(b.results, b.blobs, actioncache.ServerOptions{
			UpdateEnabled: cfg.ActionCache.UpdateEnabled,
			Logger:        logger.With("component", "action_cache"),
			Registerer:    reg,
		}).Register(r)
	}

	if sched != nil {
		caps.ExecEnabled = true
		// SupportedNodeProperties stays empty. It lists the keys a client
		// may ask for in Command.output_node_properties (mtime,
		// unix_mode, ...), which workers do not report yet; platform
		// property names do not belong there.
		sched.Register(r)
	}

	capabilities.NewServer(caps).Register(r)
	return closeServices
}
