package actioncache

import (
	"container/list"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// diskLRU indexes the entry files of a DiskStore by recency so that the
// store can stay under its entry and byte limits. Recency survives restarts
// through the files' modification times, which touch refreshes.
type diskLRU struct {
	maxEntries int
	maxBytes   int64
	log        *slog.Logger

	mu    sync.Mutex
	order *list.List // of *lruFile, most recently used first
	files map[string]*list.Element
	bytes int64
}

type lruFile struct {
	path string
	size int64
}

// loadDiskLRU indexes the files under root, oldest modification first, and
// evicts down to the limits (which may have shrunk since the last run).
func loadDiskLRU(root string, maxEntries int, maxBytes int64, log *slog.Logger) (*diskLRU, error) {
	l := &diskLRU{maxEntries: maxEntries, maxBytes: maxBytes, log: log,
		order: list.New(), files: make(map[string]*list.Element)}
	type found struct {
		lruFile
		mtime time.Time
	}
	var all []found
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		all = append(all, found{lruFile{path, info.Size()}, info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(all, func(i, j int) bool { return all[i].mtime.Before(all[j].mtime) })
	for _, f := range all {
		l.files[f.path] = l.order.PushFront(&lruFile{f.path, f.size})
		l.bytes += f.size
	}
	l.mu.Lock()
	l.evictLocked()
	l.mu.Unlock()
	return l, nil
}

// touch marks path as just used.
func (l *diskLRU) touch(path string) {
	l.mu.Lock()
	if e, ok := l.files[path]; ok {
		l.order.MoveToFront(e)
	}
	l.mu.Unlock()
	now := time.Now()
	_ = os.Chtimes(path, now, now) // best effort: only recency after a restart depends on it
}

// add runs commit (the rename that makes path visible) and indexes path,
// then evicts. Holding the lock across commit keeps an eviction from
// deleting a file that a concurrent Put of the same key just renamed.
func (l *diskLRU) add(path string, size int64, commit func() error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := commit(); err != nil {
		return err
	}
	if e, ok := l.files[path]; ok {
		f := e.Value.(*lruFile)
		l.bytes += size - f.size
		f.size = size
		l.order.MoveToFront(e)
	} else {
		l.files[path] = l.order.PushFront(&lruFile{path, size})
		l.bytes += size
	}
	l.evictLocked()
	return nil
}

// evictLocked removes least recently used files until the limits hold. The
// newest entry always stays, even if alone it exceeds the byte limit.
func (l *diskLRU) evictLocked() {
	for l.order.Len() > 1 && (l.maxEntries > 0 && l.order.Len() > l.maxEntries ||
		l.maxBytes > 0 && l.bytes > l.maxBytes) {
		e := l.order.Back()
		f := e.Value.(*lruFile)
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			l.log.Warn("evicting action cache entry", "path", f.path, "err", err)
		}
		l.order.Remove(e)
		delete(l.files, f.path)
		l.bytes -= f.size
	}
}
