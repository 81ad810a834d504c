package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/actioncache"
	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/config"
	"github.com/kilnbuild/kiln/internal/server"
	workerpb "github.com/kilnbuild/kiln/proto/kiln/worker/v1"
)

func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	flags := config.BindWorkerFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: kiln worker -scheduler=grpc://HOST:PORT [flags]")
		fmt.Fprintln(fs.Output(), "\nRuns actions for a Kiln scheduler until interrupted. It only dials out: it")
		fmt.Fprintln(fs.Output(), "polls the scheduler for work and reads and writes the CAS and action cache")
		fmt.Fprintln(fs.Output(), "over gRPC. On SIGINT or SIGTERM it kills the actions it runs; the scheduler")
		fmt.Fprintln(fs.Output(), "hands them to another worker.\n\nFlags:")
		fs.PrintDefaults()
	}
	if ok, err := parseFlags(fs, args, stderr); !ok {
		return err
	}
	cfg, err := flags.Config()
	if err != nil {
		return usageError{err}
	}
	return runWorkerProcess(ctx, cfg, stdout, newLogger(cfg.Log, stderr))
}

// runWorkerProcess runs one agent against remote services until ctx ends.
func runWorkerProcess(ctx context.Context, cfg config.Config, stdout io.Writer, logger *slog.Logger) (err error) {
	conns := newConnections()
	defer func() { err = errors.Join(err, conns.Close()) }()
	gateway, err := conns.get("worker.scheduler", cfg.Worker.Scheduler)
	if err != nil {
		return err
	}
	casConn, err := conns.get("worker.cas", cfg.WorkerCAS())
	if err != nil {
		return err
	}
	acConn, err := conns.get("worker.action_cache", cfg.WorkerActionCache())
	if err != nil {
		return err
	}

	reg := server.NewRegistry()
	agent, err := newWorkerAgent(cfg, agentStores{
		gateway: workerpb.NewWorkerGatewayClient(gateway),
		// Kiln's CAS is shared by all instance names.
		blobs:   cas.NewGRPCStore(casConn, ""),
		results: actioncache.NewGRPCStore(repb.NewActionCacheClient(acConn)),
	}, logger, reg)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, agent.Close()) }()

	var metricsListener net.Listener
	if cfg.Server.MetricsListen != "" {
		var lc net.ListenConfig
		if metricsListener, err = lc.Listen(ctx, "tcp", cfg.Server.MetricsListen); err != nil {
			return fmt.Errorf("server.metrics_listen: %w", err)
		}
	}

	fmt.Fprintf(stdout, "Kiln worker %s runs %d actions at once for %s, offering %s\n",
		agent.WorkerID(), cfg.Worker.Concurrency, grpcURL(cfg.Worker.Scheduler), describePlatform(agent.platform))
	fmt.Fprintf(stdout, "CAS: %s, action cache: %s\n", grpcURL(cfg.WorkerCAS()), grpcURL(cfg.WorkerActionCache()))
	if metricsListener != nil {
		fmt.Fprintf(stdout, "Metrics: http://%s/metrics\n", dialable(metricsListener.Addr()))
	}
	fmt.Fprintf(stdout, "Data: %s\n", cfg.WorkerDir())
	logger.Info("Kiln worker is up", "worker_id", agent.WorkerID(), "scheduler", cfg.Worker.Scheduler,
		"cas", cfg.WorkerCAS(), "action_cache", cfg.WorkerActionCache(), "concurrency", cfg.Worker.Concurrency,
		"data_dir", cfg.WorkerDir(), "version", versionString())

	servers := []func(context.Context) error{}
	if metricsListener != nil {
		servers = append(servers, func(ctx context.Context) error {
			return server.ServeHTTP(ctx, metricsListener, server.MetricsHandler(reg, logger), cfg.Server.ShutdownGrace)
		})
	}
	err = runLayers(ctx, []func(context.Context) error{agent.Run}, servers)
	logger.Info("Kiln worker stopped", "worker_id", agent.WorkerID())
	return err
}
