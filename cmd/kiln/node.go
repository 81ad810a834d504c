package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/kilnbuild/kiln/internal/config"
	"github.com/kilnbuild/kiln/internal/server"
	workerpb "github.com/kilnbuild/kiln/proto/kiln/worker/v1"
	"github.com/kilnbuild/kiln/scheduler"
)

// nodeKind says which command runs a node, for the banner.
type nodeKind int

const (
	nodeUp    nodeKind = iota // `kiln up`: every role and local workers
	nodeServe                 // `kiln serve`: the configured roles only
)

// runNode serves the services of cfg's roles on one gRPC server until ctx
// ends, with cfg.Worker.Concurrency local worker slots if localWorkers.
// It tells the user on stdout how to use it once it accepts connections.
//
// Stopping goes in layers (runLayers): the local workers first, then the
// scheduler, then the servers, and last the stores.
func runNode(ctx context.Context, cfg config.Config, kind nodeKind, stdout io.Writer, logger *slog.Logger) (err error) {
	var closers []func() error
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			err = errors.Join(err, closers[i]())
		}
	}()

	reg := server.NewRegistry()
	b, err := openBackends(ctx, cfg, logger, reg)
	if err != nil {
		return err
	}
	closers = append(closers, b.Close)

	var sched *scheduler.Scheduler
	if cfg.Serves(config.RoleScheduler) {
		if sched, err = newScheduler(ctx, cfg, b, logger, reg); err != nil {
			return err
		}
		// Closed by its layer too; a second Close does nothing, and this
		// one covers a failure before the layers start.
		closers = append(closers, sched.Close)
	}

	grpcServer, err := server.NewGRPC(server.GRPCOptions{
		Logger:         logger.With("component", "grpc"),
		Registerer:     reg,
		MaxRecvMsgSize: server.MaxRecvMsgSizeForBatch(cfg.CAS.MaxBatchTotalSize.Bytes()),
		ShutdownGrace:  cfg.Server.ShutdownGrace,
	})
	if err != nil {
		return err
	}
	closers = append(closers, registerServices(grpcServer.Registrar(), cfg, b, sched, logger, reg))

	var lc net.ListenConfig
	grpcListener, err := lc.Listen(ctx, "tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("server.listen: %w", err)
	}
	var metricsListener net.Listener
	if cfg.Server.MetricsListen != "" {
		if metricsListener, err = lc.Listen(ctx, "tcp", cfg.Server.MetricsListen); err != nil {
			grpcListener.Close()
			return fmt.Errorf("server.metrics_listen: %w", err)
		}
	}
	addr := dialable(grpcListener.Addr())

	var agent *workerAgent
	if kind == nodeUp && cfg.Worker.Concurrency > 0 {
		// Local workers reach the gateway exactly as remote ones do,
		// through the server's own address; their data goes straight to
		// the stores.
		gateway, err := b.conns.get("server.listen", addr)
		if err == nil {
			agent, err = newWorkerAgent(cfg, agentStores{
				gateway: workerpb.NewWorkerGatewayClient(gateway),
				blobs:   b.blobs,
				results: b.results,
			}, logger, reg)
		}
		if err != nil {
			grpcListener.Close()
			if metricsListener != nil {
				metricsListener.Close()
			}
			return err
		}
		closers = append(closers, agent.Close)
	}

	printNodeBanner(stdout, kind, cfg, addr, agent, metricsListener)
	logger.Info("Kiln is up", "roles", cfg.RolesString(), "listen", addr, "data_dir", cfg.DataDir,
		"local_worker_slots", agentSlots(agent, cfg), "version", versionString())

	var workers, control []func(context.Context) error
	if agent != nil {
		workers = append(workers, agent.Run)
	}
	if sched != nil {
		control = append(control, untilDone(sched.Close))
	}
	servers := []func(context.Context) error{func(ctx context.Context) error {
		return grpcServer.Serve(ctx, grpcListener)
	}}
	if metricsListener != nil {
		servers = append(servers, func(ctx context.Context) error {
			return server.ServeHTTP(ctx, metricsListener, server.MetricsHandler(reg, logger), cfg.Server.ShutdownGrace)
		})
	}
	err = runLayers(ctx, workers, control, servers)
	logger.Info("Kiln stopped")
	return err
}

func agentSlots(agent *workerAgent, cfg config.Config) int {
	if agent == nil {
		return 0
	}
	return cfg.Worker.Concurrency
}

// printNodeBanner tells the user how to use the server. kilntest and other
// scripts parse the --remote_cache and --remote_executor lines: keep their
// form. The Data line, when there is one, comes last.
func printNodeBanner(w io.Writer, kind nodeKind, cfg config.Config, addr string, agent *workerAgent, metrics net.Listener) {
	endpoint := "grpc://" + addr
	if kind == nodeUp {
		fmt.Fprintln(w, "Kiln is up. Use it from Bazel with:")
	} else {
		fmt.Fprintf(w, "Kiln serves %s on %s.\n", cfg.RolesString(), endpoint)
	}
	cache := cfg.Serves(config.RoleCAS) && cfg.Serves(config.RoleActionCache)
	exec := cfg.Serves(config.RoleScheduler)
	if kind == nodeServe && (cache || exec) {
		fmt.Fprintln(w, "Use it from Bazel with:")
	}
	if cache {
		fmt.Fprintf(w, "  --remote_cache=%s\n", endpoint)
	}
	if exec {
		fmt.Fprintf(w, "  --remote_executor=%s\n", endpoint)
		if !cache && cfg.CAS.Remote != "" && cfg.RemoteActionCache() == cfg.CAS.Remote {
			// Bazel takes the cache from --remote_executor unless told.
			fmt.Fprintf(w, "  --remote_cache=%s\n", grpcURL(cfg.CAS.Remote))
		}
		switch {
		case agent != nil:
			fmt.Fprintf(w, "Workers: %d local slots offering %s (worker %s)\n",
				cfg.Worker.Concurrency, describePlatform(agent.platform), agent.WorkerID())
		default:
			fmt.Fprintf(w, "Workers: none in this process; add some with: kiln worker --scheduler=%s\n", endpoint)
		}
	}
	if metrics != nil {
		fmt.Fprintf(w, "Metrics: http://%s/metrics\n", dialable(metrics.Addr()))
	}
	if cfg.Serves(config.RoleCAS) || cfg.Serves(config.RoleActionCache) || agent != nil {
		fmt.Fprintf(w, "Data: %s\n", cfg.DataDir)
	}
}
