// Package server owns the process-level plumbing every Kiln role shares: the
// gRPC server with its interceptors (metrics, error logging, panic
// recovery), keepalive and message limits; the HTTP endpoint for /metrics
// and /healthz; and running both until a context ends, then stopping them
// gracefully within a bound. It knows nothing about REAPI: services register
// themselves on the grpc.ServiceRegistrar it hands out.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"

	"github.com/kilnbuild/kiln/internal/grpcmem"
)

// GRPCOptions configures NewGRPC.
type GRPCOptions struct {
	// Logger receives failed calls and recovered panics. Required.
	Logger *slog.Logger
	// Registerer receives the per-method request metrics. Required.
	Registerer prometheus.Registerer
	// MaxRecvMsgSize is the largest request message accepted, in bytes.
	// Zero means DefaultMaxRecvMsgSize.
	MaxRecvMsgSize int
	// ShutdownGrace bounds how long Serve waits for running calls once
	// its context ends; after that they are cut off.
	ShutdownGrace time.Duration
}

// DefaultMaxRecvMsgSize is larger than gRPC's 4 MiB default because
// FindMissingBlobs of a big build easily lists tens of thousands of digests.
const DefaultMaxRecvMsgSize = 16 << 20

// MessageOverhead is what a batch request adds to the blob bytes it carries
// (digests, framing); MaxRecvMsgSizeForBatch leaves this much room.
const MessageOverhead = 1 << 20

// MaxRecvMsgSizeForBatch returns a receive limit that admits a batch of
// maxBatch bytes of blobs plus its overhead, and never less than the
// default.
func MaxRecvMsgSizeForBatch(maxBatch int64) int {
	return int(max(maxBatch+MessageOverhead, DefaultMaxRecvMsgSize))
}

// GRPC is a gRPC server with Kiln's interceptors, a standard health service
// and request metrics. Register services on it, then Serve.
type GRPC struct {
	server  *grpc.Server
	health  *health.Server
	metrics *grpcprom.ServerMetrics
	logger  *slog.Logger
	grace   time.Duration
}

// keepalivePolicy lets clients ping as often as every 10 s, idle or not:
// Bazel's --grpc_keepalive_time can be set that low, and a server that
// answers those pings with GOAWAY "too_many_pings" breaks builds.
var keepalivePolicy = keepalive.EnforcementPolicy{
	MinTime:             10 * time.Second,
	PermitWithoutStream: true,
}

// keepaliveParams make the server probe quiet connections, so a client
// that vanished (a laptop that slept) does not hold resources forever.
var keepaliveParams = keepalive.ServerParameters{
	Time:    2 * time.Minute,
	Timeout: 20 * time.Second,
}

// NewGRPC builds the server. Metrics are registered on opts.Registerer.
func NewGRPC(opts GRPCOptions) (*GRPC, error) {
	if opts.Logger == nil || opts.Registerer == nil {
		return nil, errors.New("server: GRPCOptions needs a Logger and a Registerer")
	}
	maxRecv := opts.MaxRecvMsgSize
	if maxRecv <= 0 {
		maxRecv = DefaultMaxRecvMsgSize
	}
	metrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	if err := opts.Registerer.Register(metrics); err != nil {
		return nil, fmt.Errorf("registering gRPC metrics: %w", err)
	}
	// Order matters: metrics outermost so that a recovered panic is
	// counted as the INTERNAL it became; recovery innermost so that it
	// sits right around the handler.
	// Buffers that gRPC borrows for messages come from a pool that skips
	// zeroing them: gRPC overwrites every byte it hands out, and zeroing
	// cost up to a tenth of the CPU of serving large blobs.
	srv := grpc.NewServer(append(grpcmem.ServerOptions(),
		grpc.MaxRecvMsgSize(maxRecv),
		grpc.KeepaliveEnforcementPolicy(keepalivePolicy),
		grpc.KeepaliveParams(keepaliveParams),
		grpc.ChainUnaryInterceptor(
			metrics.UnaryServerInterceptor(),
			unaryLogging(opts.Logger),
			unaryRetryInfo,
			unaryRecovery(opts.Logger),
		),
		grpc.ChainStreamInterceptor(
			metrics.StreamServerInterceptor(),
			streamLogging(opts.Logger),
			streamRetryInfo,
			streamRecovery(opts.Logger),
		),
	)...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	return &GRPC{server: srv, health: hs, metrics: metrics, logger: opts.Logger, grace: opts.ShutdownGrace}, nil
}

// Registrar is where services register themselves. It is the concrete
// *grpc.Server because some generated code (genproto's ByteStream) accepts
// nothing else.
func (g *GRPC) Registrar() *grpc.Server { return g.server }

// Serve serves on lis until ctx ends, then stops: running calls get up to
// the shutdown grace to finish, then are cancelled. It returns nil after a
// stop caused by ctx, and the error otherwise. Serve closes lis.
func (g *GRPC) Serve(ctx context.Context, lis net.Listener) error {
	// Zeroed counters for every method make dashboards and rate() work
	// before the first call arrives.
	g.metrics.InitializeMetrics(g.server)

	served := make(chan error, 1)
	go func() { served <- g.server.Serve(lis) }()

	select {
	case err := <-served:
		return fmt.Errorf("gRPC server on %s: %w", lis.Addr(), err)
	case <-ctx.Done():
	}
	g.health.Shutdown() // tell load balancers first, before refusing calls
	g.stop()
	return nil
}

// stop drains running calls for up to the grace, then cancels them. A
// handler that ignores cancellation (stuck in a syscall, say) would keep
// grpc's Stop waiting forever, so stop gives up on it after one more grace:
// the process is about to exit anyway.
func (g *GRPC) stop() {
	drained := make(chan struct{})
	go func() {
		g.server.GracefulStop()
		close(drained)
	}()
	if waitOrTimeout(drained, g.grace) {
		return
	}
	g.logger.Warn("calls still running after the shutdown grace; cancelling them", "grace", g.grace)
	go g.server.Stop()
	if !waitOrTimeout(drained, g.grace) {
		g.logger.Error("calls ignored cancellation; leaving them behind", "grace", g.grace)
	}
}

// waitOrTimeout reports whether done closed within d.
func waitOrTimeout(done <-chan struct{}, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
		return false
	}
}
