package worker

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

// fileCache is the worker's local content-addressed store of input files.
// Actions get hardlinks to its files, so a file used by a thousand actions
// is fetched and stored once.
//
// Files are read-only (0444, or 0555 for executables) because every action
// sharing one sees the same inode. Executable and plain copies of the same
// blob are separate files for the same reason. Inputs are read-only by
// Bazel's rules; a process runner cannot enforce it against an action that
// chmods its inputs or runs as root, so a hit is checked (mode, size, mtime)
// before it is linked, and a file found modified is dropped and fetched
// again.
//
// The cache is bounded in bytes with LRU eviction. Evicting a file only
// removes the cache's name for it: actions holding links keep theirs.
type fileCache struct {
	dir      string // cache root; files under dir/<function>/<hh>/<hash>_<size>[_x]
	tmpDir   string
	maxBytes int64
	store    cas.BlobStore
	m        *metrics

	mu      sync.Mutex
	entries map[cacheKey]*list.Element // of *cacheEntry
	lru     *list.List                 // front is most recently used
	size    int64

	fetches inflight[cacheKey]
}

type cacheKey struct {
	d          digest.Digest
	executable bool
}

type cacheEntry struct {
	key   cacheKey
	mtime time.Time
}

// newFileCache opens (or creates) the cache in dir, indexing the files a
// previous run left there.
func newFileCache(dir string, maxBytes int64, store cas.BlobStore, m *metrics) (*fileCache, error) {
	c := &fileCache{
		dir:      dir,
		tmpDir:   filepath.Join(dir, "tmp"),
		maxBytes: maxBytes,
		store:    store,
		m:        m,
		entries:  make(map[cacheKey]*list.Element),
		lru:      list.New(),
	}
	// Partial fetches of an earlier run are garbage.
	if err := os.RemoveAll(c.tmpDir); err != nil {
		return nil, fmt.Errorf("cleaning file cache: %w", err)
	}
	if err := os.MkdirAll(c.tmpDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating file cache: %w", err)
	}
	if err := c.loadIndex(); err != nil {
		return nil, fmt.Errorf("indexing file cache %s: %w", dir, err)
	}
	return c, nil
}

func fileMode(executable bool) fs.FileMode {
	if executable {
		return 0o555
	}
	return 0o444
}

func (c *fileCache) path(k cacheKey) string {
	name := k.d.Hash + "_" + strconv.FormatInt(k.d.Size, 10)
	if k.executable {
		name += "_x"
	}
	return filepath.Join(c.dir, digest.FunctionName(k.d.Function), k.d.Hash[:2], name)
}

// contains reports whether the cache holds k, without touching its age.
func (c *fileCache) contains(d digest.Digest, executable bool) bool {
	if d.IsEmpty() {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.entries[cacheKey{d, executable}]
	return ok
}

// bytes is the size of the files the cache holds.
func (c *fileCache) bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

// link makes dst (which must not exist) a read-only file with the content
// of d, fetching d from the CAS unless the cache holds it. A blob the CAS
// does not hold yields an error wrapping cas.ErrNotFound.
func (c *fileCache) link(ctx context.Context, d digest.Digest, executable bool, dst string) error {
	mode := fileMode(executable)
	if d.IsEmpty() || d.Size == 0 {
		// No blob to fetch; an empty file with the wrong digest is
		// caught by fetching, not here.
		if !d.IsEmpty() {
			return fmt.Errorf("%s: %w: a 0-byte blob with a non-empty hash", d, digest.ErrMismatch)
		}
		return writeFile(dst, mode, strings.NewReader(""))
	}
	if d.Size > c.maxBytes {
		// Caching it would evict everything else; fetch it for this
		// action alone.
		return c.fetchTo(ctx, d, dst, mode)
	}
	k := cacheKey{d, executable}
	var err error
	for range linkAttempts {
		var src string
		src, err = c.ensure(ctx, k)
		if err != nil {
			// Another action's fetch of the same blob failed
			// because that action ended: try again with ours.
			if ctx.Err() == nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
				continue
			}
			return err
		}
		err = linkOrCopy(src, dst, mode)
		if errors.Is(err, fs.ErrNotExist) && ctx.Err() == nil {
			if _, serr := os.Lstat(src); errors.Is(serr, fs.ErrNotExist) {
				// Evicted between ensure and link: fetch it again.
				continue
			}
		}
		return err
	}
	return err
}

// linkAttempts bounds how often link starts over after losing a race with
// eviction or with another action's cancelled fetch.
const linkAttempts = 5

// ensure returns the path of k's file, fetching it if needed.
func (c *fileCache) ensure(ctx context.Context, k cacheKey) (string, error) {
	p := c.path(k)
	if c.hit(k, p) {
		c.m.cacheHits.Inc()
		return p, nil
	}
	err := c.fetches.do(ctx, k, func() error {
		if c.hit(k, p) {
			return nil
		}
		c.m.cacheMisses.Inc()
		return c.fetch(ctx, k, p)
	})
	return p, err
}

// hit reports whether the cache holds k intact, marking it used. A file
// that was modified behind the cache's back is dropped.
func (c *fileCache) hit(k cacheKey, p string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[k]
	if !ok {
		return false
	}
	e := el.Value.(*cacheEntry)
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != fileMode(k.executable) ||
		fi.Size() != k.d.Size || !fi.ModTime().Equal(e.mtime) {
		c.removeLocked(el)
		return false
	}
	c.lru.MoveToFront(el)
	return true
}

// fetch downloads k into a temporary file, verifies it, and moves it into
// place: a partial or wrong file never gets a cache name.
func (c *fileCache) fetch(ctx context.Context, k cacheKey, p string) error {
	tmp, err := os.CreateTemp(c.tmpDir, "fetch-*")
	if err != nil {
		return fmt.Errorf("file cache: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // a no-op once renamed
	err = c.download(ctx, k.d, tmp)
	if err == nil {
		err = tmp.Chmod(fileMode(k.executable))
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fi, err := os.Lstat(tmpName)
	if err != nil {
		return fmt.Errorf("file cache: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("file cache: %w", err)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if err := os.Rename(tmpName, p); err != nil {
		return fmt.Errorf("file cache: %w", err)
	}
	if el, ok := c.entries[k]; ok {
		// Replaced a file dropped by hit; forget the old entry.
		c.removeEntryLocked(el)
	}
	c.insertLocked(&cacheEntry{key: k, mtime: fi.ModTime()}, true)
	c.evictLocked()
	return nil
}

// download streams d from the CAS into f, verifying its content.
func (c *fileCache) download(ctx context.Context, d digest.Digest, f *os.File) error {
	rc, err := c.store.Get(ctx, d, 0, 0)
	if err != nil {
		return fmt.Errorf("fetching %s: %w", d, err)
	}
	defer rc.Close()
	if err := digest.Copy(f, rc, d); err != nil {
		return fmt.Errorf("fetching %s: %w", d, err)
	}
	return nil
}

// fetchTo downloads d straight to dst, bypassing the cache.
func (c *fileCache) fetchTo(ctx context.Context, d digest.Digest, dst string, mode fs.FileMode) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = c.download(ctx, d, f)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
	}
	return err
}

func (c *fileCache) insertLocked(e *cacheEntry, recent bool) {
	var el *list.Element
	if recent {
		el = c.lru.PushFront(e)
	} else {
		el = c.lru.PushBack(e)
	}
	c.entries[e.key] = el
	c.size += e.key.d.Size
	c.m.cacheBytes.Set(float64(c.size))
}

func (c *fileCache) removeEntryLocked(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.lru.Remove(el)
	delete(c.entries, e.key)
	c.size -= e.key.d.Size
	c.m.cacheBytes.Set(float64(c.size))
}

// removeLocked forgets an entry and removes its file. It runs under the
// lock so that it cannot remove a file that a concurrent fetch just put in
// the same place.
func (c *fileCache) removeLocked(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.removeEntryLocked(el)
	_ = os.Remove(c.path(e.key))
}

// evictLocked removes least recently used files until the cache fits,
// always keeping the most recent one.
func (c *fileCache) evictLocked() {
	for c.size > c.maxBytes && c.lru.Len() > 1 {
		c.removeLocked(c.lru.Back())
		c.m.cacheEvictions.Inc()
	}
}

// loadIndex indexes the files an earlier run left, oldest first by mtime,
// and removes anything that is not a well-formed, read-only cache file.
func (c *fileCache) loadIndex() error {
	var found []*cacheEntry
	err := filepath.WalkDir(c.dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() {
			if p == c.tmpDir {
				return filepath.SkipDir
			}
			return nil
		}
		k, ok := c.parsePath(p)
		fi, err := de.Info()
		if err != nil {
			return err
		}
		if !ok || !fi.Mode().IsRegular() || fi.Mode().Perm() != fileMode(k.executable) || fi.Size() != k.d.Size {
			return os.Remove(p)
		}
		found = append(found, &cacheEntry{key: k, mtime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(found, func(i, j int) bool { return found[i].mtime.After(found[j].mtime) })
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range found {
		c.insertLocked(e, false)
	}
	c.evictLocked()
	return nil
}

// parsePath is the inverse of path.
func (c *fileCache) parsePath(p string) (cacheKey, bool) {
	rel, err := filepath.Rel(c.dir, p)
	if err != nil {
		return cacheKey{}, false
	}
	parts := strings.Split(filepath.ToSlash(rel), "/")
	if len(parts) != 3 {
		return cacheKey{}, false
	}
	fn, ok := digest.ParseFunctionName(parts[0])
	if !ok {
		return cacheKey{}, false
	}
	name, executable := strings.CutSuffix(parts[2], "_x")
	hash, sizeStr, ok := strings.Cut(name, "_")
	if !ok {
		return cacheKey{}, false
	}
	size, err := strconv.ParseInt(sizeStr, 10, 64)
	if err != nil {
		return cacheKey{}, false
	}
	d, err := digest.New(fn, hash, size)
	if err != nil || parts[1] != hash[:2] || c.path(cacheKey{d, executable}) != p {
		return cacheKey{}, false
	}
	return cacheKey{d, executable}, true
}

// linkOrCopy hardlinks src to dst, copying where a link is impossible
// (another filesystem, or the inode's link count is at its maximum).
func linkOrCopy(src, dst string, mode fs.FileMode) error {
	err := os.Link(src, dst)
	if err == nil || !(errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.EMLINK)) {
		return err
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return writeFile(dst, mode, f)
}

// writeFile creates dst (which must not exist) with r's content and mode.
func writeFile(dst string, mode fs.FileMode, r io.Reader) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
	}
	return err
}
