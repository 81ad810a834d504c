package cas

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/kilnbuild/kiln/internal/digest"
)

const (
	// DefaultTierRefreshInterval is how long a blob that the slow store
	// confirmed counts as alive there without asking again.
	DefaultTierRefreshInterval = time.Hour
	// tierMaxRemembered bounds the confirmations a TieredStore keeps;
	// past it they are all forgotten, which costs one round of slow
	// lookups, not correctness.
	tierMaxRemembered = 1 << 20
)

// errFillEnded ends a tee into the fast store whose Put has returned.
var errFillEnded = errors.New("the fast store's Put has returned")

// errFillAbandoned aborts a fill whose reader was closed before the end.
var errFillAbandoned = errors.New("the reader was closed before the end of the blob")

// TieredStoreOptions configure a TieredStore; the zero value is usable.
type TieredStoreOptions struct {
	// RefreshInterval is how long a blob found in the fast store counts
	// as alive in the slow store after the slow store last confirmed it
	// (see TieredStore.FindMissing). 0 means DefaultTierRefreshInterval;
	// a negative value asks the slow store every time.
	RefreshInterval time.Duration
	// Logger receives failures of the fast store, which only cost speed;
	// nil means slog.Default().
	Logger *slog.Logger
}

// TieredStore puts a fast store (a node's local disk) in front of a slow,
// durable one (a GCS bucket shared by all nodes). The slow store is the
// source of truth; the fast one is a cache that may lose anything at any
// time (eviction, a new disk) without losing data.
//
//   - Put is write-through and durable: it streams the blob to both stores
//     at once, and returns success only once the slow store has it. The
//     fast copy is published only after that: its Put is held at the end of
//     the stream until the slow Put succeeded, and fails if that one did.
//     So the fast store never holds a blob that a failed Put left out of
//     the slow one, where FindMissing would call it present and the client
//     would never upload it again.
//   - Get reads the fast store; on a miss it reads the slow one and, for a
//     whole-blob read, fills the fast store with the same bytes as they
//     stream to the caller (the fast Put verifies them). Ranged misses pass
//     through without a fill.
//   - FindMissing asks the fast store, then the slow one about what the
//     fast one lacks. Blobs present in the fast store are also asked about
//     in the slow one once per RefreshInterval, so that their lifetime
//     there is extended too (checklist item 9; the slow store's lifecycle
//     must be much longer than the interval); one the slow store lost is
//     reported missing, so the client uploads it again.
//
// Failures of the fast store are logged and served from the slow one.
type TieredStore struct {
	fast, slow      BlobStore
	refreshInterval time.Duration
	log             *slog.Logger

	mu sync.Mutex
	// confirmed holds when the slow store last reported a blob present.
	confirmed map[digest.Digest]time.Time
}

var _ BlobStore = (*TieredStore)(nil)

// NewTieredStore returns a store with fast in front of slow.
func NewTieredStore(fast, slow BlobStore, opts TieredStoreOptions) *TieredStore {
	s := &TieredStore{
		fast:            fast,
		slow:            slow,
		refreshInterval: opts.RefreshInterval,
		log:             opts.Logger,
		confirmed:       make(map[digest.Digest]time.Time),
	}
	if s.refreshInterval == 0 {
		s.refreshInterval = DefaultTierRefreshInterval
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Get implements BlobStore.
func (s *TieredStore) Get(ctx context.Context, d digest.Digest, offset, limit int64) (io.ReadCloser, error) {
	rc, err := s.fast.Get(ctx, d, offset, limit)
	if err == nil {
		return rc, nil
	}
	fill := offset == 0 && (limit == 0 || limit >= d.Size)
	if !errors.Is(err, ErrNotFound) {
		s.log.Warn("tiered CAS: the fast store failed a read; reading the slow one", "digest", d, "err", err)
		fill = false // it would likely fail the same way
	}
	rc, err = s.slow.Get(ctx, d, offset, limit)
	if err != nil || !fill {
		return rc, err
	}
	return s.filling(ctx, d, rc), nil
}

// filling returns src as it is, while a Put to the fast store receives the
// same bytes.
func (s *TieredStore) filling(ctx context.Context, d digest.Digest, src io.ReadCloser) io.ReadCloser {
	pr, pw := io.Pipe()
	f := &fillingReader{src: src, pw: pw, left: d.Size, teeing: true, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		err := s.fast.Put(ctx, d, pr)
		pr.CloseWithError(errFillEnded) // later writes fail instead of blocking
		if err != nil && !errors.Is(err, errFillAbandoned) && !errors.Is(err, ErrTooLarge) && ctx.Err() == nil {
			s.log.Warn("tiered CAS: could not copy a blob into the fast store", "digest", d, "err", err)
		}
	}()
	return f
}

// fillingReader tees what its caller reads into a pipe to the fast store.
type fillingReader struct {
	src    io.ReadCloser
	pw     *io.PipeWriter
	left   int64 // bytes of the blob not teed yet
	teeing bool
	done   chan struct{} // closed when the fast store's Put returned
}

func (f *fillingReader) Read(p []byte) (int, error) {
	n, err := f.src.Read(p)
	if f.teeing && n > 0 {
		f.left -= int64(n)
		if _, werr := f.pw.Write(p[:n]); werr != nil {
			f.teeing = false // the fast Put gave up; the caller still reads
		}
	}
	if f.teeing && (err != nil || f.left <= 0) {
		f.teeing = false
		if err == nil || err == io.EOF {
			// The whole blob went by (a caller need not read on to
			// EOF): the fast Put verifies it, then publishes.
			f.pw.Close()
		} else {
			f.pw.CloseWithError(err)
		}
	}
	return n, err
}

// Close ends the read, and waits for the fast store's Put so that a blob
// read to the end is in the fast store once Close returns.
func (f *fillingReader) Close() error {
	if f.teeing {
		f.teeing = false
		f.pw.CloseWithError(errFillAbandoned)
	}
	err := f.src.Close()
	<-f.done
	return err
}

// Put implements BlobStore; see TieredStore for the order of the writes.
func (s *TieredStore) Put(ctx context.Context, d digest.Digest, r io.Reader) error {
	pr, pw := io.Pipe()
	fastErr := make(chan error, 1)
	go func() {
		err := s.fast.Put(ctx, d, pr)
		pr.CloseWithError(errFillEnded)
		fastErr <- err
	}()
	err := s.slow.Put(ctx, d, io.TeeReader(r, &stoppingWriter{w: pw}))
	if err != nil {
		pw.CloseWithError(err) // the fast Put fails: nothing published
		<-fastErr
		return err
	}
	pw.Close()
	if err := <-fastErr; err != nil && !errors.Is(err, ErrTooLarge) {
		// Only a cache copy is missing; Get fills it later. (A
		// mismatch here means the slow store had the blob and did not
		// read the stream to its end.)
		level := slog.LevelWarn
		if errors.Is(err, digest.ErrMismatch) {
			level = slog.LevelDebug
		}
		s.log.Log(ctx, level, "tiered CAS: could not write a blob to the fast store", "digest", d, "err", err)
	}
	s.confirm([]digest.Digest{d})
	return nil
}

// stoppingWriter passes writes on until the first failure, and then
// swallows them: the fast store's failure must not fail the slow Put.
type stoppingWriter struct {
	w      io.Writer
	failed bool
}

func (w *stoppingWriter) Write(p []byte) (int, error) {
	if !w.failed {
		if _, err := w.w.Write(p); err != nil {
			w.failed = true
		}
	}
	return len(p), nil
}

// FindMissing implements BlobStore; see TieredStore.
func (s *TieredStore) FindMissing(ctx context.Context, ds []digest.Digest) ([]digest.Digest, error) {
	missingFast, err := s.fast.FindMissing(ctx, ds)
	if err != nil {
		s.log.Warn("tiered CAS: the fast store failed FindMissing; asking the slow one", "err", err)
		missingFast = ds
	}
	notInFast := make(map[digest.Digest]bool, len(missingFast))
	for _, d := range missingFast {
		notInFast[d] = true
	}
	now := time.Now()
	var ask []digest.Digest
	asked := make(map[digest.Digest]bool)
	s.mu.Lock()
	for _, d := range ds {
		if asked[d] || d.IsEmpty() {
			continue
		}
		if notInFast[d] || s.refreshInterval < 0 || now.Sub(s.confirmed[d]) >= s.refreshInterval {
			asked[d] = true
			ask = append(ask, d)
		}
	}
	s.mu.Unlock()
	if len(ask) == 0 {
		return nil, nil
	}
	missingSlow, err := s.slow.FindMissing(ctx, ask)
	if err != nil {
		return nil, fmt.Errorf("tiered CAS: %w", err)
	}
	missing := make(map[digest.Digest]bool, len(missingSlow))
	for _, d := range missingSlow {
		missing[d] = true
	}
	var present []digest.Digest
	for _, d := range ask {
		if !missing[d] {
			present = append(present, d)
		}
	}
	s.confirm(present)
	var out []digest.Digest
	for _, d := range ds {
		if missing[d] {
			out = append(out, d)
		}
	}
	return out, nil
}

// confirm records that the slow store holds ds now.
func (s *TieredStore) confirm(ds []digest.Digest) {
	if len(ds) == 0 {
		return
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.confirmed)+len(ds) > tierMaxRemembered {
		clear(s.confirmed)
	}
	for _, d := range ds {
		s.confirmed[d] = now
	}
}
