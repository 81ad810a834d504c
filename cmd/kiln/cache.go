package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/kilnbuild/kiln/actioncache"
	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/capabilities"
	"github.com/kilnbuild/kiln/internal/config"
)

// cacheStorage is what the cache services stand on: one BlobStore and one
// action cache Store, built from the config.
type cacheStorage struct {
	blobs   cas.BlobStore
	results actioncache.Store
	closers []func() error
}

// openCacheStorage opens the disk CAS and the disk action cache under the
// data directory. The action cache is wrapped in the completeness check, so
// that an entry whose outputs were evicted from the CAS reads as a miss
// (checklist item 21) instead of failing the client's download.
func openCacheStorage(ctx context.Context, cfg config.Config, logger *slog.Logger, reg prometheus.Registerer) (*cacheStorage, error) {
	disk, err := cas.NewDiskStore(ctx, cfg.CASDir(), cas.DiskStoreOptions{
		MaxSizeBytes: cfg.CAS.MaxSize.Bytes(),
		Logger:       logger.With("component", "cas"),
		Registerer:   reg,
	})
	if err != nil {
		return nil, fmt.Errorf("opening the CAS: %w", err)
	}
	acLogger := logger.With("component", "action_cache")
	acDisk, err := actioncache.NewDiskStore(cfg.ActionCacheDir(), actioncache.DiskStoreOptions{
		MaxSizeBytes: cfg.ActionCache.MaxSize.Bytes(),
		Logger:       acLogger,
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("opening the action cache: %w", err), disk.Close())
	}
	return &cacheStorage{
		blobs:   disk,
		results: actioncache.NewCompletenessChecking(acDisk, disk, actioncache.CompletenessOptions{Logger: acLogger}),
		closers: []func() error{disk.Close},
	}, nil
}

// Close releases the stores (the data directory lock among them).
func (s *cacheStorage) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	return errors.Join(errs...)
}

// registerCacheServices puts the CAS, ByteStream, ActionCache and
// Capabilities services on r. Capabilities is given the same limits and
// switches as the services that enforce them, so that what a client is
// told is what it gets. The returned func releases the services' state
// (interrupted uploads) once the server has stopped.
func registerCacheServices(r grpc.ServiceRegistrar, storage *cacheStorage, cfg config.Config, logger *slog.Logger, reg prometheus.Registerer) (closeServices func() error) {
	maxBatch := cfg.CAS.MaxBatchTotalSize.Bytes()
	cas.NewCASServer(storage.blobs, cas.CASServerOptions{
		MaxBatchTotalSizeBytes: maxBatch,
		Logger:                 logger.With("component", "cas"),
		Registerer:             reg,
	}).Register(r)

	byteStream := cas.NewByteStreamServer(storage.blobs, cas.ByteStreamServerOptions{
		Logger:     logger.With("component", "bytestream"),
		Registerer: reg,
	})
	byteStream.Register(r)

	actioncache.NewServer(storage.results, storage.blobs, actioncache.ServerOptions{
		UpdateEnabled: cfg.ActionCache.UpdateEnabled,
		Logger:        logger.With("component", "action_cache"),
		Registerer:    reg,
	}).Register(r)

	capabilities.NewServer(capabilities.Options{
		UpdateEnabled:          cfg.ActionCache.UpdateEnabled,
		MaxBatchTotalSizeBytes: maxBatch,
		// The disk CAS refuses a blob larger than its whole cap.
		MaxCASBlobSizeBytes: cfg.CAS.MaxSize.Bytes(),
	}).Register(r)

	return byteStream.Close
}
