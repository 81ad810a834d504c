package cas

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/kilnbuild/kiln/internal/digest"
)

// NewDiskStore opens the store in dir, creating dir if needed. It removes
// what a killed process left in dir/tmp, rebuilds the index from the file
// names under dir/blobs (recency from their mtimes) and evicts down to
// opts.MaxSizeBytes if the cap shrank since the last run. Close releases dir.
func NewDiskStore(ctx context.Context, dir string, opts DiskStoreOptions) (*DiskStore, error) {
	if opts.MaxSizeBytes < 0 {
		return nil, fmt.Errorf("disk store %s: MaxSizeBytes %d is negative", dir, opts.MaxSizeBytes)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	start := time.Now()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("disk store: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("disk store: %w", err)
	}
	s := &DiskStore{
		dir:     dir,
		tmpDir:  filepath.Join(dir, diskTmpDirName),
		maxSize: opts.MaxSizeBytes,
		log:     log,
		unlock:  unlock,
		index:   newLRUIndex(),
	}
	s.metrics = newDiskMetrics(s)
	if err := s.load(ctx); err != nil {
		unlock()
		return nil, fmt.Errorf("disk store %s: %w", dir, err)
	}
	if err := s.metrics.register(opts.Registerer); err != nil {
		unlock()
		return nil, fmt.Errorf("disk store %s: %w", dir, err)
	}
	log.Info("disk CAS opened", "dir", dir, "blobs", s.index.len(), "bytes", s.index.bytes,
		"max_bytes", s.maxSize, "took", time.Since(start))
	return s, nil
}

// load prepares the directories and fills the index. The store is not
// shared yet, but evictLocked expects the lock, so it is taken anyway.
func (s *DiskStore) load(ctx context.Context) error {
	if err := s.resetTmp(); err != nil {
		return err
	}
	blobsDir := filepath.Join(s.dir, diskBlobsDirName)
	if err := os.MkdirAll(blobsDir, 0o750); err != nil {
		return err
	}
	found, err := scanBlobs(ctx, blobsDir, s.log)
	if err != nil {
		return err
	}
	// Oldest first, so that the last one added is the most recently used.
	slices.SortFunc(found, func(a, b scannedBlob) int { return cmp.Compare(a.mtime, b.mtime) })
	s.mu.Lock()
	s.index.grow(len(found))
	for _, b := range found {
		s.index.add(b.d, b.mtime/int64(time.Second))
	}
	trash := s.evictLocked()
	s.mu.Unlock()
	s.removeTrash(trash)
	return nil
}

// resetTmp deletes whatever a killed process left in the temp directory:
// unfinished uploads and evicted blobs not yet unlinked. None of it was ever
// visible under a final name.
func (s *DiskStore) resetTmp() error {
	stray, err := os.ReadDir(s.tmpDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if len(stray) > 0 {
		s.log.Info("disk CAS: removing files left by an earlier run", "dir", s.tmpDir, "files", len(stray))
		if err := os.RemoveAll(s.tmpDir); err != nil {
			return err
		}
	}
	return os.MkdirAll(s.tmpDir, 0o750)
}

// scannedBlob is a blob file found at start-up.
type scannedBlob struct {
	d     digest.Digest
	mtime int64 // Unix nanoseconds
}

// scanBlobs lists the blobs under blobsDir. It reads directory entries and
// one lstat per file, never file contents, with a few fan-out directories in
// flight at once (start-up time is mostly syscalls). Names that do not parse
// are logged and left alone; a file whose size contradicts its name can only
// be damage, and is deleted.
func scanBlobs(ctx context.Context, blobsDir string, log *slog.Logger) ([]scannedBlob, error) {
	type job struct {
		fn  digest.Function
		dir string
	}
	var jobs []job
	functionDirs, err := os.ReadDir(blobsDir)
	if err != nil {
		return nil, err
	}
	for _, fd := range functionDirs {
		fdPath := filepath.Join(blobsDir, fd.Name())
		fn, err := parseFunctionDir(fd.Name())
		if err != nil || !fd.IsDir() {
			log.Warn("disk CAS: ignoring unexpected entry", "path", fdPath, "err", err)
			continue
		}
		fanOutDirs, err := os.ReadDir(fdPath)
		if err != nil {
			return nil, err
		}
		for _, fo := range fanOutDirs {
			foPath := filepath.Join(fdPath, fo.Name())
			if !fo.IsDir() {
				log.Warn("disk CAS: ignoring unexpected entry", "path", foPath)
				continue
			}
			jobs = append(jobs, job{fn, foPath})
		}
	}

	workers := min(runtime.GOMAXPROCS(0), 8, max(len(jobs), 1))
	results := make([][]scannedBlob, workers)
	errs := make([]error, workers)
	next := make(chan job)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for j := range next {
				if errs[w] != nil {
					continue // drain
				}
				results[w], errs[w] = scanFanOutDir(results[w], j.fn, j.dir, log)
			}
		})
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		next <- j
	}
	close(next)
	wg.Wait()
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		return nil, err
	}
	return slices.Concat(results...), nil
}

func scanFanOutDir(found []scannedBlob, fn digest.Function, dir string, log *slog.Logger) ([]scannedBlob, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return found, err
	}
	fanOut := filepath.Base(dir)
	for _, ent := range entries {
		d, err := parseBlobFileName(fn, fanOut, ent.Name())
		if err != nil || !ent.Type().IsRegular() {
			log.Warn("disk CAS: ignoring unexpected entry", "path", filepath.Join(dir, ent.Name()), "err", err)
			continue
		}
		info, err := ent.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return found, err
		}
		if info.Size() != d.Size {
			path := filepath.Join(dir, ent.Name())
			log.Error("disk CAS: deleting blob file whose size contradicts its name", "path", path, "size", info.Size())
			if err := os.Remove(path); err != nil {
				return found, err
			}
			continue
		}
		if d.IsEmpty() {
			continue // always present anyway
		}
		found = append(found, scannedBlob{d: d, mtime: info.ModTime().UnixNano()})
	}
	return found, nil
}
