package cas

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"golang.org/x/sync/errgroup"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/internal/digest"
)

const (
	// DefaultGCSLookups bounds the object lookups one FindMissing runs at
	// once: enough to hide GCS's tens of milliseconds per lookup for a
	// large FindMissingBlobs, few enough to stay well inside GCS's
	// per-bucket request rates when many clients ask at once.
	DefaultGCSLookups = 32
	// DefaultGCSTouchInterval is how stale an object's custom time may get
	// before FindMissing refreshes it (see GCSStore on lifetimes).
	DefaultGCSTouchInterval = 24 * time.Hour

	// gcsMaxChunkBytes is the largest buffer one upload holds; GCS's
	// client default. Smaller blobs get a buffer just big enough.
	gcsMaxChunkBytes = 16 << 20
	// gcsChunkGranule is the multiple GCS rounds chunk sizes up to.
	gcsChunkGranule = 256 << 10
	// gcsCheckBeforePutBytes is the size from which Put first asks whether
	// the object exists: a round trip is cheaper than uploading a large
	// blob only to have GCS refuse it at the end.
	gcsCheckBeforePutBytes = 4 << 20
)

// GCSStoreOptions configure a GCSStore; the zero value is usable.
type GCSStoreOptions struct {
	// Prefix is prepended to every object name ("cas" stores blobs under
	// cas/sha256/...), so that one bucket can hold several stores.
	Prefix string
	// Lookups bounds the parallel object lookups of one FindMissing;
	// 0 means DefaultGCSLookups.
	Lookups int
	// TouchInterval is how old an object's custom time may be before
	// FindMissing sets it to now; 0 means DefaultGCSTouchInterval, a
	// negative value never touches.
	TouchInterval time.Duration
	// Logger receives damage reports and failed touches; nil means
	// slog.Default().
	Logger *slog.Logger
}

// GCSStore is a BlobStore on a Google Cloud Storage bucket, one object per
// blob, named {prefix}/{function}/{hash}-{size}.
//
// Nothing partial or unverified is ever visible, without temporary objects:
// Put streams the client's bytes to a Writer for the final name and through
// a digest.Verifier at once, and calls Writer.Close (which finalizes the
// upload; GCS creates an object only then) only after every byte matched
// and the reader reached EOF. On a mismatch or a reader error it cancels
// the upload's context instead, and GCS never creates the object. The
// upload carries a does-not-exist precondition, so concurrent Puts of one
// digest cannot replace each other's object; the loser's precondition
// failure means the blob is there, verified, and is success.
//
// Lifetimes: GCS does not evict by itself. The intended setup is a bucket
// lifecycle rule that deletes objects some days after their custom time
// (condition daysSinceCustomTime; see deploy/README.md). Put sets the
// custom time to now, and FindMissing, which clients call to keep the
// blobs they rely on alive (REAPI checklist item 9), sets it to now again
// on every present object whose custom time is older than TouchInterval.
// The interval rate-limits those metadata writes to one per object per
// interval, and, because GCS refuses to move a custom time backwards, keeps
// nodes with slightly skewed clocks from tripping over each other. The
// lifecycle age must be well above TouchInterval. Gets do not touch: a
// client that relies on a blob calls FindMissing for it.
type GCSStore struct {
	bucket        *storage.BucketHandle
	prefix        string
	lookups       int
	touchInterval time.Duration
	log           *slog.Logger
}

var _ BlobStore = (*GCSStore)(nil)

// NewGCSStore returns a store on bucket. The bucket must exist.
func NewGCSStore(bucket *storage.BucketHandle, opts GCSStoreOptions) *GCSStore {
	s := &GCSStore{
		bucket:        bucket,
		prefix:        strings.Trim(opts.Prefix, "/"),
		lookups:       opts.Lookups,
		touchInterval: opts.TouchInterval,
		log:           opts.Logger,
	}
	if s.lookups <= 0 {
		s.lookups = DefaultGCSLookups
	}
	if s.touchInterval == 0 {
		s.touchInterval = DefaultGCSTouchInterval
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// CheckAccess lists one object of the store, so that a server fails at
// start-up, naming the bucket, rather than on its first request when the
// bucket is missing or out of reach.
func (s *GCSStore) CheckAccess(ctx context.Context) error {
	it := s.bucket.Objects(ctx, &storage.Query{Prefix: s.prefix})
	if _, err := it.Next(); err != nil && !errors.Is(err, iterator.Done) {
		return fmt.Errorf("GCS CAS: listing gs://%s/%s: %w", s.bucket.BucketName(), s.prefix, err)
	}
	return nil
}

// objectName is where d lives in the bucket.
func (s *GCSStore) objectName(d digest.Digest) string {
	name := fmt.Sprintf("%s/%s-%d", digest.FunctionName(d.Function), d.Hash, d.Size)
	if s.prefix == "" {
		return name
	}
	return s.prefix + "/" + name
}

func (s *GCSStore) object(d digest.Digest) *storage.ObjectHandle {
	return s.bucket.Object(s.objectName(d))
}

// Get implements BlobStore with a ranged read of the object.
func (s *GCSStore) Get(ctx context.Context, d digest.Digest, offset, limit int64) (io.ReadCloser, error) {
	if d.IsEmpty() {
		return emptyReader(), nil
	}
	offset = min(max(offset, 0), d.Size)
	if offset == d.Size {
		// GCS refuses a range that starts at the end; the answer is
		// nothing, if the blob exists.
		if _, err := s.stat(ctx, d); err != nil {
			return nil, err
		}
		return emptyReader(), nil
	}
	length := d.Size - offset
	if limit > 0 {
		length = min(length, limit)
	}
	r, err := s.object(d).NewRangeReader(ctx, offset, length)
	if isRangeNotSatisfiable(err) {
		// The object is shorter than its name says: damage from outside.
		s.log.Error("GCS CAS: object is shorter than its digest; treating it as missing", "object", s.objectName(d))
		return nil, fmt.Errorf("%s: %w", d, ErrNotFound)
	}
	if err != nil {
		return nil, s.wrap(d, "reading", err)
	}
	if r.Attrs.Size != d.Size {
		// Only a write from outside Kiln gets here; never serve it.
		r.Close()
		s.log.Error("GCS CAS: object has the wrong size; treating it as missing",
			"object", s.objectName(d), "want", d.Size, "got", r.Attrs.Size)
		return nil, fmt.Errorf("%s: %w", d, ErrNotFound)
	}
	return r, nil
}

// Put implements BlobStore; see GCSStore for how it keeps unverified bytes
// invisible.
func (s *GCSStore) Put(ctx context.Context, d digest.Digest, r io.Reader) error {
	if d.IsEmpty() {
		if err := digest.Copy(io.Discard, r, d); err != nil {
			return fmt.Errorf("writing %s: %w", d, err)
		}
		return nil
	}
	if d.Size >= gcsCheckBeforePutBytes {
		if _, err := s.stat(ctx, d); err == nil {
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
	}

	// Cancelling uploadCtx is what aborts the upload: every return
	// before Close succeeds leaves no object behind.
	uploadCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := s.object(d).If(storage.Conditions{DoesNotExist: true}).NewWriter(uploadCtx)
	w.ChunkSize = gcsChunkSize(d.Size)
	w.ContentType = "application/octet-stream"
	w.CustomTime = time.Now()

	v := digest.NewVerifier(d)
	src := &readErrors{r: r}
	// The verifier comes first: it refuses bytes beyond the digest's
	// size before the upload sees them.
	if _, err := io.Copy(io.MultiWriter(v, w), src); err != nil {
		if src.err != nil || errors.Is(err, digest.ErrMismatch) {
			return fmt.Errorf("writing %s: %w", d, err) // the client's side
		}
		return s.wrap(d, "writing", err)
	}
	if err := v.Verify(); err != nil {
		return fmt.Errorf("writing %s: %w", d, err)
	}
	if err := w.Close(); err != nil {
		if isPreconditionFailed(err) {
			return nil // stored meanwhile by another Put, verified as well
		}
		return s.wrap(d, "writing", err)
	}
	return nil
}

// readErrors remembers the error of its reader, telling the client's
// failures from GCS's.
type readErrors struct {
	r   io.Reader
	err error
}

func (e *readErrors) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// gcsChunkSize sizes an upload's buffer: a blob that fits goes in one
// request with a buffer just big enough (one granule more than its size,
// so that the buffer also sees the reader's EOF), a larger one in chunks.
func gcsChunkSize(size int64) int {
	if size >= gcsMaxChunkBytes {
		return gcsMaxChunkBytes
	}
	return int((size/gcsChunkGranule + 1) * gcsChunkGranule)
}

// FindMissing implements BlobStore with parallel lookups of the objects,
// touching the present ones as GCSStore describes.
func (s *GCSStore) FindMissing(ctx context.Context, ds []digest.Digest) ([]digest.Digest, error) {
	first := make(map[digest.Digest]int, len(ds)) // each digest is looked up once
	present := make([]bool, len(ds))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.lookups)
	for i, d := range ds {
		if d.IsEmpty() {
			present[i] = true
			continue
		}
		if _, ok := first[d]; ok {
			continue
		}
		first[d] = i
		g.Go(func() error {
			ok, err := s.lookUpAndTouch(gctx, d)
			present[i] = ok
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var missing []digest.Digest
	for _, d := range ds {
		if j, ok := first[d]; ok && !present[j] {
			missing = append(missing, d)
		}
	}
	return missing, nil
}

// lookUpAndTouch reports whether d is present, refreshing its custom time
// if that is older than the touch interval.
func (s *GCSStore) lookUpAndTouch(ctx context.Context, d digest.Digest) (bool, error) {
	attrs, err := s.stat(ctx, d)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if s.touchInterval < 0 {
		return true, nil
	}
	now := time.Now()
	if now.Sub(attrs.CustomTime) < s.touchInterval {
		return true, nil
	}
	_, err = s.object(d).If(storage.Conditions{MetagenerationMatch: attrs.Metageneration}).
		Update(ctx, storage.ObjectAttrsToUpdate{CustomTime: now})
	switch {
	case errors.Is(err, storage.ErrObjectNotExist):
		return false, nil // deleted (by the lifecycle rule) just now
	case err != nil:
		// Present all the same. A touch that lost a race with another
		// node's touch, or failed, is tried again on the next
		// FindMissing, long before the lifecycle rule acts.
		if !isPreconditionFailed(err) {
			s.log.Warn("GCS CAS: could not extend a blob's lifetime", "object", s.objectName(d), "err", err)
		}
	}
	return true, nil
}

// stat returns the attributes of d's object, or an error wrapping
// ErrNotFound if it is missing (or damaged).
func (s *GCSStore) stat(ctx context.Context, d digest.Digest) (*storage.ObjectAttrs, error) {
	attrs, err := s.object(d).Attrs(ctx)
	if err != nil {
		return nil, s.wrap(d, "looking up", err)
	}
	if attrs.Size != d.Size {
		s.log.Error("GCS CAS: object has the wrong size; treating it as missing",
			"object", s.objectName(d), "want", d.Size, "got", attrs.Size)
		return nil, fmt.Errorf("%s: %w", d, ErrNotFound)
	}
	return attrs, nil
}

// wrap names d and what failed, turning GCS's "no such object" into
// ErrNotFound.
func (s *GCSStore) wrap(d digest.Digest, doing string, err error) error {
	if errors.Is(err, storage.ErrObjectNotExist) {
		return fmt.Errorf("%s: %w", d, ErrNotFound)
	}
	return markTransient(fmt.Errorf("GCS CAS: %s %s (gs://%s/%s): %w", doing, d, s.bucket.BucketName(), s.objectName(d), err))
}

func isRangeNotSatisfiable(err error) bool {
	var gerr *googleapi.Error
	return errors.As(err, &gerr) && gerr.Code == http.StatusRequestedRangeNotSatisfiable
}

// isPreconditionFailed reports a failed If condition, over HTTP or gRPC.
func isPreconditionFailed(err error) bool {
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		return gerr.Code == http.StatusPreconditionFailed
	}
	return status.Code(err) == codes.FailedPrecondition
}
