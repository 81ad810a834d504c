package cas

// Resumable ByteStream uploads.
//
// An upload streams its bytes straight into store.Put through an io.Pipe as
// they arrive: no spool file, no second copy of the blob, and the store's
// hashing overlaps with the network. When a client's stream breaks, the
// session keeps that Put waiting on the pipe, and a new Write at the
// committed offset goes on feeding the same Put. The store's own temporary
// place (a temp file for the disk store, where the bytes had to go anyway)
// is thus the spool, and the server's memory stays bounded for any blob
// size. A session nobody resumes within the idle timeout is aborted: its Put
// fails and nothing becomes visible.
//
// committed_size is the number of bytes the Put has consumed (compressed
// bytes for zstd uploads), so it only grows while the session lives. If the
// Put fails, the session ends, QueryWriteStatus answers NOT_FOUND and the
// client starts over; a Write at offset 0 also starts over.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/kilnbuild/kiln/internal/resourcename"
)

var (
	// errWriteOffset is wrapped by errors about a write_offset that does
	// not continue the stream.
	errWriteOffset = errors.New("wrong write_offset")
	// errUploadAborted is wrapped by errors that end a Write because its
	// upload session went away or changed hands; the client should ask
	// QueryWriteStatus and resume or start over.
	errUploadAborted = errors.New("upload aborted")
	// errAlreadyStored tells Write that the Put ended early and well:
	// the store already held the blob.
	errAlreadyStored = errors.New("blob already stored")
)

// uploads keeps the upload sessions of a ByteStreamServer by upload name.
// Lock order: uploads.mu before upload.mu; upload.sink is taken holding
// neither.
type uploads struct {
	store BlobStore
	codec *zstdCodec
	idle  time.Duration
	// afterFunc is time.AfterFunc returning Stop; tests replace it.
	afterFunc func(d time.Duration, f func()) (stop func() bool)

	mu       sync.Mutex
	sessions map[string]*upload
	closed   bool
}

func newUploads(store BlobStore, codec *zstdCodec, idle time.Duration) *uploads {
	return &uploads{
		store:     store,
		codec:     codec,
		idle:      idle,
		afterFunc: func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop },
		sessions:  make(map[string]*upload),
	}
}

// uploadKey names the session of an upload: the resource name without its
// optional metadata, which a client need not repeat when it resumes.
func uploadKey(rn resourcename.Upload) string {
	rn.Metadata = ""
	return rn.String()
}

// open attaches a new writer at offset to the session of rn, starting a
// session if there is none or if offset 0 asks to start over. The writer
// owns the session until it detaches or another writer takes over.
func (us *uploads) open(ctx context.Context, rn resourcename.Upload, offset int64) (*upload, uint64, error) {
	key := uploadKey(rn)
	us.mu.Lock()
	if us.closed {
		us.mu.Unlock()
		return nil, 0, fmt.Errorf("%w: the server is shutting down", errUploadAborted)
	}
	var replaced *upload
	u := us.sessions[key]
	if u != nil {
		committed, complete, live := u.state()
		if !live || complete || (offset == 0 && committed > 0) {
			replaced, u = u, nil
			delete(us.sessions, key)
		}
	}
	if u == nil {
		if offset != 0 {
			us.mu.Unlock()
			return nil, 0, fmt.Errorf("%w: no upload %q is in progress (it may have expired); start over at write_offset 0, not %d", errUploadAborted, key, offset)
		}
		var err error
		if u, err = us.start(ctx, key, rn); err != nil {
			us.mu.Unlock()
			return nil, 0, err
		}
		us.sessions[key] = u
	}
	us.mu.Unlock()
	if replaced != nil {
		replaced.abort(fmt.Errorf("%w: a new Write started %q over at offset 0", errUploadAborted, key))
	}
	gen, err := u.attach(ctx, offset)
	return u, gen, err
}

// start creates the session called key and its Put. Caller holds us.mu.
func (us *uploads) start(ctx context.Context, key string, rn resourcename.Upload) (*upload, error) {
	pr, pw := io.Pipe()
	// The Put outlives the stream that starts it, so that another stream
	// can resume it; only abort (or its end) cancels it.
	putCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	u := &upload{
		us: us, key: key, digest: rn.Digest, compressed: rn.Compressor != 0,
		pw: pw, cancel: cancel,
		putDone: make(chan struct{}),
		sink:    make(chan struct{}, 1),
	}
	src := &recordingReader{r: pr}
	release := func() {}
	if u.compressed {
		dec, err := us.codec.newDecompressor(pr)
		if err != nil {
			cancel()
			return nil, err
		}
		src.r = &sizeGuard{r: dec, want: rn.Digest}
		release = func() { dec.Close() }
	}
	go func() {
		err := us.store.Put(putCtx, u.digest, src)
		release()
		if err != nil && src.err != nil {
			// The source failed first (bad zstd data, too many bytes,
			// abort): that, not how the store reports it, is the cause.
			err = src.err
		}
		u.putEnded(err, pr)
	}()
	u.armIdleTimer()
	return u, nil
}

// state reports the session of key: bytes committed, whether the upload is
// complete, and whether the session exists.
func (us *uploads) state(key string) (committed int64, complete, ok bool) {
	us.mu.Lock()
	u := us.sessions[key]
	us.mu.Unlock()
	if u == nil {
		return 0, false, false
	}
	return u.state()
}

// discard aborts the session of key, if any.
func (us *uploads) discard(key string, cause error) {
	us.mu.Lock()
	u := us.sessions[key]
	us.mu.Unlock()
	if u != nil {
		u.abort(cause)
	}
}

// drop forgets u, if it is still the session of its key.
func (us *uploads) drop(u *upload) {
	us.mu.Lock()
	if us.sessions[u.key] == u {
		delete(us.sessions, u.key)
	}
	us.mu.Unlock()
}

// expire aborts u if it stayed detached since idle timer number seq.
func (us *uploads) expire(u *upload, seq uint64) {
	us.mu.Lock()
	u.mu.Lock()
	idle := us.sessions[u.key] == u && u.owner == 0 && u.idleSeq == seq
	u.mu.Unlock()
	us.mu.Unlock()
	if idle {
		u.abort(fmt.Errorf("%w: upload %q was idle for %v", errUploadAborted, u.key, us.idle))
	}
}

// close aborts every session and refuses new ones.
func (us *uploads) close() {
	us.mu.Lock()
	us.closed = true
	all := make([]*upload, 0, len(us.sessions))
	for _, u := range us.sessions {
		all = append(all, u)
	}
	us.mu.Unlock()
	for _, u := range all {
		u.abort(fmt.Errorf("%w: the server is shutting down", errUploadAborted))
	}
}

// recordingReader remembers the first error its source returned other than
// io.EOF. Only the Put goroutine uses it.
type recordingReader struct {
	r   io.Reader
	err error
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// sinkBusy is the error of a writer whose context ended while it waited
// for another writer's chunk to reach the store.
func sinkBusy(ctx context.Context) error {
	return fmt.Errorf("waiting for the upload's previous writer: %w", ctx.Err())
}
