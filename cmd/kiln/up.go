package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/kilnbuild/kiln/internal/config"
	"github.com/kilnbuild/kiln/internal/server"
)

func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	flags := config.BindFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: kiln up [flags]")
		fmt.Fprintln(fs.Output(), "\nRuns a complete remote cache in this process until interrupted.\n\nFlags:")
		fs.PrintDefaults()
	}
	if ok, err := parseFlags(fs, args, stderr); !ok {
		return err
	}
	cfg, err := flags.Config()
	if err != nil {
		return usageError{err}
	}
	return up(ctx, cfg, stdout, newLogger(cfg.Log, stderr))
}

// up serves the cache services until ctx ends. It tells the user on stdout
// how to point Bazel at it once it accepts connections.
func up(ctx context.Context, cfg config.Config, stdout io.Writer, logger *slog.Logger) (err error) {
	reg := server.NewRegistry()
	storage, err := openCacheStorage(ctx, cfg, logger, reg)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, storage.Close()) }()

	grpcServer, err := server.NewGRPC(server.GRPCOptions{
		Logger:         logger.With("component", "grpc"),
		Registerer:     reg,
		MaxRecvMsgSize: server.MaxRecvMsgSizeForBatch(cfg.CAS.MaxBatchTotalSize.Bytes()),
		ShutdownGrace:  cfg.Server.ShutdownGrace,
	})
	if err != nil {
		return err
	}
	closeServices := registerCacheServices(grpcServer.Registrar(), storage, cfg, logger, reg)
	defer func() { err = errors.Join(err, closeServices()) }()

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

	printBanner(stdout, grpcListener.Addr(), metricsListener, cfg.DataDir)
	logger.Info("Kiln is up", "listen", grpcListener.Addr().String(), "data_dir", cfg.DataDir,
		"cas_max_size", cfg.CAS.MaxSize.String(), "version", versionString())

	err = serveAll(ctx, func(ctx context.Context) error {
		return grpcServer.Serve(ctx, grpcListener)
	}, func(ctx context.Context) error {
		if metricsListener == nil {
			return nil
		}
		return server.ServeHTTP(ctx, metricsListener, server.MetricsHandler(reg, logger), cfg.Server.ShutdownGrace)
	})
	logger.Info("Kiln stopped")
	return err
}

// serveAll runs each server until ctx ends or one of them fails; a failure
// stops the others, since a half-working process is worse than none.
func serveAll(ctx context.Context, servers ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(servers))
	for _, serve := range servers {
		go func() {
			err := serve(ctx)
			if err != nil {
				cancel()
			}
			errs <- err
		}()
	}
	var all []error
	for range servers {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

// printBanner tells the user how to use the server. kilntest and other
// scripts parse the --remote_cache line: keep its form.
func printBanner(w io.Writer, grpcAddr net.Addr, metrics net.Listener, dataDir string) {
	fmt.Fprintln(w, "Kiln is up. Use it from Bazel with:")
	fmt.Fprintf(w, "  --remote_cache=grpc://%s\n", dialable(grpcAddr))
	if metrics != nil {
		fmt.Fprintf(w, "Metrics: http://%s/metrics\n", dialable(metrics.Addr()))
	}
	fmt.Fprintf(w, "Data: %s\n", dataDir)
}

// dialable turns a listening address into one a local client can dial: a
// wildcard host (0.0.0.0, ::) is not an address to connect to, so it is
// shown as the loopback, which a wildcard listener also serves.
func dialable(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
}
