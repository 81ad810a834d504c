package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/kilnbuild/kiln/actioncache"
	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/config"
)

// startupCheckTimeout bounds the reachability checks of remote backends
// (GCS, Redis) at start-up, which otherwise retry for as long as they may.
const startupCheckTimeout = 30 * time.Second

// backends are what a server's services stand on: one BlobStore and one
// action cache Store, local where the process serves that role and remote
// (over gRPC) where it only uses it.
type backends struct {
	// blobs is the CAS stack (see openCAS), or the remote CAS; nil if no
	// role needs one.
	blobs cas.BlobStore
	// results is the action cache (disk or Redis) behind the completeness
	// check, or the remote action cache; nil if no role needs one.
	results actioncache.Store
	conns   *connections
	// redis is the client of the redis section, made on first use and
	// shared by whatever stands on Redis.
	redis   redis.UniversalClient
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
		if b.blobs, err = b.openCAS(ctx, cfg, logger.With("component", "cas"), reg); err != nil {
			return nil, err
		}
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
		store, err := b.openActionCache(ctx, cfg, acLogger)
		if err != nil {
			return nil, err
		}
		b.results = actioncache.NewCompletenessChecking(store, b.blobs, actioncache.CompletenessOptions{Logger: acLogger})
	case cfg.Serves(config.RoleScheduler):
		conn, err := b.conns.get("action_cache.remote", cfg.RemoteActionCache())
		if err != nil {
			return nil, err
		}
		b.results = actioncache.NewGRPCStore(repb.NewActionCacheClient(conn))
	}
	return b, nil
}

// openCAS builds the CAS node's store from the bottom up:
//
//	disk                       cas.backend: disk
//	gcs                        cas.backend: gcs
//	tiered(disk, gcs)          ... with cas.tier.backend: disk
//	sharded(self: one of the above, others: gRPC)   with cas.shards
func (b *backends) openCAS(ctx context.Context, cfg config.Config, logger *slog.Logger, reg prometheus.Registerer) (cas.BlobStore, error) {
	c := cfg.CAS
	var local cas.BlobStore
	switch c.Backend {
	case config.BackendDisk:
		disk, err := b.openDiskCAS(ctx, cfg.CASDir(), c.MaxSize.Bytes(), logger, reg)
		if err != nil {
			return nil, err
		}
		local = disk
	case config.BackendGCS:
		gcs, err := b.openGCS(ctx, c.GCS, logger)
		if err != nil {
			return nil, err
		}
		local = gcs
		if c.Tier.Backend == config.BackendDisk {
			disk, err := b.openDiskCAS(ctx, cfg.CASDir(), c.Tier.MaxSize.Bytes(), logger, reg)
			if err != nil {
				return nil, err
			}
			local = cas.NewTieredStore(disk, gcs, cas.TieredStoreOptions{Logger: logger})
		}
	default:
		return nil, fmt.Errorf("cas.backend: unknown backend %q", c.Backend)
	}
	if len(c.Shards) == 0 {
		return local, nil
	}
	return b.openShards(c, local, logger)
}

func (b *backends) openDiskCAS(ctx context.Context, dir string, maxSize int64, logger *slog.Logger, reg prometheus.Registerer) (*cas.DiskStore, error) {
	disk, err := cas.NewDiskStore(ctx, dir, cas.DiskStoreOptions{MaxSizeBytes: maxSize, Logger: logger, Registerer: reg})
	if err != nil {
		return nil, fmt.Errorf("opening the CAS: %w", err)
	}
	b.closers = append(b.closers, disk.Close)
	return disk, nil
}

func (b *backends) openGCS(ctx context.Context, g config.GCSConfig, logger *slog.Logger) (*cas.GCSStore, error) {
	client, err := cas.NewGCSClient(ctx, g.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("cas.gcs: %w", err)
	}
	b.closers = append(b.closers, client.Close)
	store := cas.NewGCSStore(client.Bucket(g.Bucket), cas.GCSStoreOptions{Prefix: g.Prefix, Logger: logger})
	checkCtx, cancel := context.WithTimeout(ctx, startupCheckTimeout)
	defer cancel()
	if err := store.CheckAccess(checkCtx); err != nil {
		return nil, fmt.Errorf("cas.gcs.bucket: %w", err)
	}
	return store, nil
}

// openShards puts local behind a ShardedStore that forwards to the other
// nodes of cas.shards. Nodes are named by their normalized address, so
// that every node computes the same owners however each config spells
// the list.
func (b *backends) openShards(c config.CASConfig, local cas.BlobStore, logger *slog.Logger) (cas.BlobStore, error) {
	self, err := config.ShardName(c.Self)
	if err != nil {
		return nil, fmt.Errorf("cas.self: %w", err)
	}
	nodes := make(map[string]cas.BlobStore, len(c.Shards))
	for _, shard := range c.Shards {
		name, err := config.ShardName(shard)
		if err != nil {
			return nil, fmt.Errorf("cas.shards: %w", err)
		}
		if name == self {
			nodes[name] = local
			continue
		}
		conn, err := b.conns.get("cas.shards", shard)
		if err != nil {
			return nil, err
		}
		nodes[name] = cas.NewGRPCStore(conn, "")
	}
	store, err := cas.NewShardedStore(self, nodes, cas.ShardedStoreOptions{
		// Over one shared bucket every node can answer for any digest.
		FallbackToSelf: c.Backend == config.BackendGCS,
		Logger:         logger,
	})
	if err != nil {
		return nil, fmt.Errorf("cas.shards: %w", err)
	}
	return store, nil
}

// openActionCache opens the action cache of action_cache.backend.
func (b *backends) openActionCache(ctx context.Context, cfg config.Config, logger *slog.Logger) (actioncache.Store, error) {
	switch cfg.ActionCache.Backend {
	case config.BackendDisk:
		disk, err := actioncache.NewDiskStore(cfg.ActionCacheDir(), actioncache.DiskStoreOptions{
			MaxSizeBytes: cfg.ActionCache.MaxSize.Bytes(),
			Logger:       logger,
		})
		if err != nil {
			return nil, fmt.Errorf("opening the action cache: %w", err)
		}
		return disk, nil
	case config.BackendRedis:
		client, err := b.redisClient(ctx, cfg.Redis)
		if err != nil {
			return nil, err
		}
		return actioncache.NewRedisStore(client, cfg.Redis.Prefix, cfg.ActionCache.TTL), nil
	}
	return nil, fmt.Errorf("action_cache.backend: unknown backend %q", cfg.ActionCache.Backend)
}

// redisClient returns the client of the redis section, connecting and
// checking it on first use.
func (b *backends) redisClient(ctx context.Context, r config.RedisConfig) (redis.UniversalClient, error) {
	if b.redis != nil {
		return b.redis, nil
	}
	opts := &redis.Options{Addr: r.Address}
	if strings.Contains(r.Address, "://") {
		var err error
		if opts, err = redis.ParseURL(r.Address); err != nil {
			return nil, fmt.Errorf("redis.address: %w", err)
		}
	}
	client := redis.NewClient(opts)
	b.closers = append(b.closers, client.Close)
	pingCtx, cancel := context.WithTimeout(ctx, startupCheckTimeout)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		return nil, fmt.Errorf("redis.address: cannot reach Redis at %s: %w", opts.Addr, err)
	}
	b.redis = client
	return client, nil
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
