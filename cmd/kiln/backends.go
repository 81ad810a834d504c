package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kilnbuild/kiln/actioncache"
	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/config"
)

// backends are what a server's services stand on: one BlobStore and one
// action cache Store, local where the process serves that role and remote
// (over gRPC) where it only uses it.
type backends struct {
	// blobs is the disk CAS, or the remote CAS; nil if no role needs one.
	blobs cas.BlobStore
	// results is the disk action cache behind the completeness check, or
	// the remote action cache; nil if no role needs one.
	results actioncache.Store
	conns   *connections
	closers []func() error
}

// openBackends opens what the roles of cfg need. The local action cache is
// wrapped in the completeness check, so that an entry whose outputs were
// evicted from the CAS reads as a miss (checklist item 21) instead of
// failing the client's download; the scheduler shares that same store for
// its cache lookups. A remote action cache does its own checking.
func openBackends(ctx context.Context, cfg config.Config, logger *slog.Logger, reg prometheus.Registerer) (_ *backends, err error) {
	b := &backends{conns: newConnections()}
	b.closers = append(b.closers, b.conns.Close)
	defer func() {
		if err != nil {
			err = errors.Join(err, b.Close())
		}
	}()

	switch {
	case cfg.Serves(config.RoleCAS):
		disk, err := cas.NewDiskStore(ctx, cfg.CASDir(), cas.DiskStoreOptions{
			MaxSizeBytes: cfg.CAS.MaxSize.Bytes(),
			Logger:       logger.With("component", "cas"),
			Registerer:   reg,
		})
		if err != nil {
			return nil, fmt.Errorf("opening the CAS: %w", err)
		}
		b.blobs = disk
		b.closers = append(b.closers, disk.Close)
	case cfg.Serves(config.RoleActionCache), cfg.Serves(config.RoleScheduler):
		conn, err := b.conns.get("cas.remote", cfg.CAS.Remote)
		if err != nil {
			return nil, err
		}
		// Kiln's CAS is shared by all instance names, so the default
		// one serves every instance's blobs.
		b.blobs = cas.NewGRPCStore(conn, "")
	}

	switch {
	case cfg.Serves(config.RoleActionCache):
		acLogger := logger.With("component", "action_cache")
		disk, err := actioncache.NewDiskStore(cfg.ActionCacheDir(), actioncache.DiskStoreOptions{
			MaxSizeBytes: cfg.ActionCache.MaxSize.Bytes(),
			Logger:       acLogger,
		})
		if err != nil {
			return nil, fmt.Errorf("opening the action cache: %w", err)
		}
		b.results = actioncache.NewCompletenessChecking(disk, b.blobs, actioncache.CompletenessOptions{Logger: acLogger})
	case cfg.Serves(config.RoleScheduler):
		conn, err := b.conns.get("action_cache.remote", cfg.RemoteActionCache())
		if err != nil {
			return nil, err
		}
		b.results = actioncache.NewGRPCStore(repb.NewActionCacheClient(conn))
	}
	return b, nil
}

// Close releases the stores (the data directory lock among them) and the
// connections.
func (b *backends) Close() error {
	var errs []error
	for i := len(b.closers) - 1; i >= 0; i-- {
		errs = append(errs, b.closers[i]())
	}
	b.closers = nil
	return errors.Join(errs...)
}
