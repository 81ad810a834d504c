package cas

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kilnbuild/kiln/internal/digest"
)

// ErrTooLarge is wrapped by the error for a blob that a store refuses
// because of its size alone (it exceeds the store's whole size cap).
var ErrTooLarge = errors.New("blob is larger than the store's size cap")

// DiskStoreOptions configure a DiskStore.
type DiskStoreOptions struct {
	// MaxSizeBytes caps the total size of the stored blobs; least recently
	// used blobs are evicted to stay under it. 0 means no cap. Uploads in
	// progress are not counted until they complete.
	MaxSizeBytes int64
	// Logger receives start-up and eviction messages; nil means slog.Default().
	Logger *slog.Logger
	// Registerer receives the store's metrics; nil means no metrics.
	Registerer prometheus.Registerer
}

// DiskStore is a BlobStore that keeps every blob as a file (see
// disk_store_layout.go) and evicts least recently used blobs to stay under a
// size cap.
//
// A blob is streamed into dir/tmp through a digest.Verifier, fsynced and only
// then renamed to its final name, so a final name always holds a complete,
// verified blob, even after a crash or a power loss. Recency lives in memory
// and is seeded from file mtimes at start-up.
//
// Eviction unlinks files that concurrent Gets may still be reading. On Unix
// an open file stays readable after unlink, so such a reader still gets the
// whole blob; the space is freed when it closes.
type DiskStore struct {
	dir     string
	tmpDir  string
	maxSize int64
	log     *slog.Logger
	metrics *diskMetrics
	unlock  func() error
	// trashSeq names evicted files moved to tmpDir before they are unlinked.
	trashSeq atomic.Uint64
	// buffers holds *[copyBufferSize]byte for Puts, so that a busy store
	// does not allocate a fresh MiB per upload.
	buffers sync.Pool

	// mu guards index, and makes "is d in the index" and "is d's final file
	// there" one fact: the renames that publish and evict files happen
	// under it, so a concurrent Put can never republish a blob between an
	// eviction's index update and its file removal.
	mu    sync.Mutex
	index *lruIndex
}

// copyBufferSize bounds the memory of one Put: bytes go from the client to
// the hasher and the temp file in chunks of this size.
const copyBufferSize = 1 << 20

// touchInterval is how stale a file's mtime may get before an access
// rewrites it. Restarts therefore see recency to within this interval, at
// the price of at most one utimes call per blob per interval.
const touchInterval = time.Hour

// Get implements BlobStore.
func (s *DiskStore) Get(ctx context.Context, d digest.Digest, offset, limit int64) (io.ReadCloser, error) {
	if err := checkPathSafe(d); err != nil {
		return nil, err
	}
	if d.IsEmpty() {
		return emptyReader(), nil
	}
	s.mu.Lock()
	e := s.index.get(d)
	var touch bool
	if e != nil {
		touch = s.useLocked(e, time.Now().Unix())
	}
	s.mu.Unlock()
	if e == nil {
		return nil, fmt.Errorf("%s: %w", d, ErrNotFound)
	}
	path := blobPath(s.dir, d)
	if touch {
		s.touchFiles([]string{path})
	}

	// The file is opened outside the lock: an eviction in between is an
	// ordinary miss, and Gets must not queue behind each other's syscalls.
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			s.forgetIfGone(d)
			return nil, fmt.Errorf("%s: %w", d, ErrNotFound)
		}
		return nil, fmt.Errorf("opening %s: %w", d, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening %s: %w", d, err)
	}
	if info.Size() != d.Size {
		// Only damage from outside Kiln gets here; never serve it.
		f.Close()
		s.log.Error("disk CAS: blob file has the wrong size; dropping it", "path", path, "want", d.Size, "got", info.Size())
		s.drop(d)
		return nil, fmt.Errorf("%s: %w", d, ErrNotFound)
	}

	offset = min(max(offset, 0), d.Size)
	n := d.Size - offset
	if limit > 0 {
		n = min(n, limit)
	}
	return &blobFileReader{SectionReader: io.NewSectionReader(f, offset, n), f: f}, nil
}

// blobFileReader reads a range of an open blob file.
type blobFileReader struct {
	*io.SectionReader
	f *os.File
}

func (r *blobFileReader) Close() error { return r.f.Close() }

// Put implements BlobStore.
func (s *DiskStore) Put(ctx context.Context, d digest.Digest, r io.Reader) error {
	if err := checkPathSafe(d); err != nil {
		return err
	}
	if d.IsEmpty() {
		// Nothing to store, but other bytes are still a mismatch.
		if err := digest.Copy(io.Discard, r, d); err != nil {
			return fmt.Errorf("writing %s: %w", d, err)
		}
		return nil
	}
	if s.maxSize > 0 && d.Size > s.maxSize {
		return fmt.Errorf("%s: %w (%d bytes)", d, ErrTooLarge, s.maxSize)
	}
	if s.usePresent(d) {
		return nil
	}
	tmp, err := s.writeVerified(ctx, d, r)
	if err != nil {
		return fmt.Errorf("writing %s: %w", d, err)
	}
	if err := s.publish(d, tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("storing %s: %w", d, err)
	}
	return nil
}

// usePresent reports whether d is stored already, and if so marks it used.
func (s *DiskStore) usePresent(d digest.Digest) bool {
	s.mu.Lock()
	e := s.index.get(d)
	var touch bool
	if e != nil {
		touch = s.useLocked(e, time.Now().Unix())
	}
	s.mu.Unlock()
	if touch {
		s.touchFiles([]string{blobPath(s.dir, d)})
	}
	return e != nil
}

// writeVerified streams r into a new temp file through a Verifier and
// returns the file's path once the bytes match d and are on stable storage.
// On error nothing is left behind.
func (s *DiskStore) writeVerified(ctx context.Context, d digest.Digest, r io.Reader) (path string, err error) {
	f, err := os.CreateTemp(s.tmpDir, "put-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()

	buf, _ := s.buffers.Get().(*[copyBufferSize]byte)
	if buf == nil {
		buf = new([copyBufferSize]byte)
	}
	defer s.buffers.Put(buf)
	v := digest.NewVerifier(d)
	for {
		n, rerr := fill(r, buf[:])
		// A client that went away mid-upload is reported as such, not as
		// a short blob.
		if err := ctx.Err(); err != nil {
			return "", err
		}
		if n > 0 {
			if _, err := v.Write(buf[:n]); err != nil {
				return "", err
			}
			if _, err := f.Write(buf[:n]); err != nil {
				return "", err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return "", rerr
		}
	}
	if err := v.Verify(); err != nil {
		return "", err
	}
	// Without this fsync a power loss after the rename could leave the
	// final name pointing at a file whose data never reached the disk.
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// fill reads from r until buf is full, r ends (io.EOF) or r fails. Full
// buffers keep writes and hashing in large chunks whatever r's read sizes.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// publish renames the verified temp file tmp to d's final name, adds d to
// the index and evicts what the cap requires. If a concurrent Put published
// d first, tmp is discarded.
func (s *DiskStore) publish(d digest.Digest, tmp string) error {
	final := blobPath(s.dir, d)
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return err
	}
	now := time.Now().Unix()
	s.mu.Lock()
	if e := s.index.get(d); e != nil {
		s.useLocked(e, now)
		s.mu.Unlock()
		os.Remove(tmp)
		return nil
	}
	if err := os.Rename(tmp, final); err != nil {
		s.mu.Unlock()
		return err
	}
	s.index.add(d, now)
	trash := s.evictLocked()
	s.mu.Unlock()
	s.removeTrash(trash)
	return nil
}

// evictLocked drops least recently used blobs until the index is under the
// cap. A blob just added is the most recent and Put refuses blobs over the
// cap, so it is never among them. Files are moved to tmpDir under the lock,
// which is cheap and atomic, and returned for unlinking after the lock is
// released, which can be slow for big files.
func (s *DiskStore) evictLocked() (trash []string) {
	if s.maxSize <= 0 {
		return nil
	}
	var blobs int
	var bytes int64
	for s.index.bytes > s.maxSize {
		e := s.index.oldest()
		s.index.remove(e)
		blobs++
		bytes += e.d.Size
		path := blobPath(s.dir, e.d)
		t := filepath.Join(s.tmpDir, "evicted-"+strconv.FormatUint(s.trashSeq.Add(1), 10))
		if err := os.Rename(path, t); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				s.log.Error("disk CAS: cannot evict blob", "path", path, "err", err)
			}
			continue
		}
		trash = append(trash, t)
	}
	if blobs > 0 {
		s.metrics.evicted(blobs, bytes)
		s.log.Debug("disk CAS: evicted", "blobs", blobs, "bytes", bytes)
	}
	return trash
}

func (s *DiskStore) removeTrash(paths []string) {
	for _, p := range paths {
		if err := os.Remove(p); err != nil {
			s.log.Error("disk CAS: cannot remove evicted blob", "path", p, "err", err)
		}
	}
}

// FindMissing implements BlobStore. Present blobs count as used.
func (s *DiskStore) FindMissing(ctx context.Context, ds []digest.Digest) ([]digest.Digest, error) {
	var missing []digest.Digest
	var touch []string
	now := time.Now().Unix()
	s.mu.Lock()
	for _, d := range ds {
		if d.IsEmpty() {
			continue
		}
		e := s.index.get(d)
		if e == nil {
			missing = append(missing, d)
			continue
		}
		if s.useLocked(e, now) {
			touch = append(touch, blobPath(s.dir, d))
		}
	}
	s.mu.Unlock()
	s.touchFiles(touch)
	return missing, nil
}

// useLocked marks e as most recently used and reports whether its file's
// mtime is stale enough that the caller should rewrite it (after unlocking).
func (s *DiskStore) useLocked(e *lruEntry, now int64) (touch bool) {
	s.index.use(e)
	if now-e.touched < int64(touchInterval/time.Second) {
		return false
	}
	e.touched = now
	return true
}

// touchFiles sets the mtimes of paths to now, the recency seed of the next
// start-up. A file evicted meanwhile is no error.
func (s *DiskStore) touchFiles(paths []string) {
	now := time.Now()
	for _, p := range paths {
		if err := os.Chtimes(p, time.Time{}, now); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("disk CAS: cannot update blob mtime", "path", p, "err", err)
		}
	}
}

// forgetIfGone drops d from the index if its file vanished from under the
// store (removed by hand, say), so that the next Put stores it again.
func (s *DiskStore) forgetIfGone(d digest.Digest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.index.get(d)
	if e == nil {
		return // evicted meanwhile: the ordinary race
	}
	if _, err := os.Lstat(blobPath(s.dir, d)); errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("disk CAS: blob file vanished", "digest", d.String(), "function", digest.FunctionName(d.Function))
		s.index.remove(e)
	}
}

// drop removes d from the index and deletes its file, if the file still has
// the wrong size (under the lock, so a blob republished meanwhile survives).
func (s *DiskStore) drop(d digest.Digest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := blobPath(s.dir, d)
	if info, err := os.Lstat(path); err == nil && info.Size() == d.Size {
		return
	}
	if e := s.index.get(d); e != nil {
		s.index.remove(e)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Error("disk CAS: cannot remove damaged blob", "path", path, "err", err)
	}
}

// SizeBytes is the total size of the stored blobs.
func (s *DiskStore) SizeBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.index.bytes
}

// blobCount is the number of stored blobs.
func (s *DiskStore) blobCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.index.len()
}

// Close unregisters the store's metrics and releases its directory for
// another store. The store must not be used afterwards.
func (s *DiskStore) Close() error {
	return errors.Join(s.metrics.unregister(), s.unlock())
}
