package cas

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/kilnbuild/kiln/internal/digest"
)

// errPutEnded closes the pipe of an upload whose Put has returned, so that
// a writer blocked on it wakes up and asks for the Put's result.
var errPutEnded = errors.New("the store stopped reading the upload")

// upload is one resumable upload: a store.Put in progress, fed through a
// pipe by whichever Write stream owns the session.
type upload struct {
	us         *uploads
	key        string
	digest     digest.Digest
	compressed bool

	pw      *io.PipeWriter
	cancel  context.CancelFunc // of the Put's context
	putDone chan struct{}      // closed when the Put has returned
	putErr  error              // the Put's result, set before putDone closes

	// sink is held (a token in the channel) by the writer whose chunk is
	// on its way into the pipe, so that chunks never interleave and a
	// writer taking over sees the final committed size of the last one.
	sink chan struct{}

	mu        sync.Mutex
	gen       uint64 // last writer generation handed out
	owner     uint64 // generation of the attached writer, 0 if none
	committed int64  // bytes consumed by the Put
	complete  bool   // finish_write done and the blob stored
	ended     bool   // aborted or the Put failed: the session is gone
	idleSeq   uint64 // number of the current idle timer
	stopIdle  func() bool
}

func (u *upload) state() (committed int64, complete, live bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.committed, u.complete, !u.ended
}

func (u *upload) lockSink(ctx context.Context) error {
	select {
	case u.sink <- struct{}{}:
		return nil
	case <-ctx.Done():
		return sinkBusy(ctx)
	}
}

func (u *upload) unlockSink() { <-u.sink }

// attach makes a new writer, resuming at offset, the owner; the previous
// owner's next write fails.
func (u *upload) attach(ctx context.Context, offset int64) (uint64, error) {
	if err := u.lockSink(ctx); err != nil {
		return 0, err
	}
	defer u.unlockSink()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ended {
		return 0, fmt.Errorf("%w: upload %q ended meanwhile; start over at write_offset 0", errUploadAborted, u.key)
	}
	if offset != u.committed {
		// Retryable on purpose: a client that asked QueryWriteStatus
		// while its broken stream's last chunk was still on its way in
		// resumes too early, and asking again fixes that.
		return 0, fmt.Errorf("%w: write_offset %d does not resume upload %q, which has %d bytes committed; ask QueryWriteStatus",
			errUploadAborted, offset, u.key, u.committed)
	}
	if u.stopIdle != nil {
		u.stopIdle()
		u.stopIdle = nil
	}
	u.gen++
	u.owner = u.gen
	return u.owner, nil
}

// detach lets the writer gen go; the session then waits for a resume until
// the idle timeout.
func (u *upload) detach(gen uint64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.owner == gen {
		u.owner = 0
		u.armIdleTimerLocked()
	}
}

func (u *upload) armIdleTimer() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.armIdleTimerLocked()
}

func (u *upload) armIdleTimerLocked() {
	u.idleSeq++
	seq := u.idleSeq
	u.stopIdle = u.us.afterFunc(u.us.idle, func() { u.us.expire(u, seq) })
}

// write appends data at offset for the writer gen. It returns when the Put
// has consumed data, or has ended (errAlreadyStored if it ended well).
func (u *upload) write(ctx context.Context, gen uint64, offset int64, data []byte) error {
	if err := u.lockSink(ctx); err != nil {
		return err
	}
	defer u.unlockSink()
	if err := u.checkWrite(gen, offset, len(data)); err != nil {
		if errors.Is(err, digest.ErrMismatch) {
			u.abort(err) // these bytes can never verify: end it now
		}
		return err
	}
	if len(data) == 0 {
		return nil // an empty pipe write would wait for a reader for nothing
	}
	n, err := u.pw.Write(data)
	u.mu.Lock()
	u.committed += int64(n)
	u.mu.Unlock()
	if err != nil {
		return u.putResult(ctx)
	}
	return nil
}

func (u *upload) checkWrite(gen uint64, offset int64, n int) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case u.owner != gen:
		return fmt.Errorf("%w: another Write took over upload %q", errUploadAborted, u.key)
	case offset != u.committed:
		return fmt.Errorf("%w: %d, but the data so far ends at %d", errWriteOffset, offset, u.committed)
	case !u.compressed && offset+int64(n) > u.digest.Size:
		return fmt.Errorf("%w: data beyond the %d bytes of %s", digest.ErrMismatch, u.digest.Size, u.digest)
	}
	return nil
}

// finish ends the upload for the writer gen and returns the committed size
// once the store holds the blob.
func (u *upload) finish(ctx context.Context, gen uint64) (int64, error) {
	if err := u.lockSink(ctx); err != nil {
		return 0, err
	}
	defer u.unlockSink()
	u.mu.Lock()
	committed, owner := u.committed, u.owner
	u.mu.Unlock()
	if owner != gen {
		return 0, fmt.Errorf("%w: another Write took over upload %q", errUploadAborted, u.key)
	}
	if !u.compressed && committed != u.digest.Size {
		err := fmt.Errorf("%w: finish_write after %d of the %d bytes of %s", digest.ErrMismatch, committed, u.digest.Size, u.digest)
		u.abort(err)
		return 0, err
	}
	u.pw.Close() // EOF for the Put, which now verifies and commits
	if err := u.putResult(ctx); err != nil && !errors.Is(err, errAlreadyStored) {
		return 0, err
	}
	u.mu.Lock()
	u.complete = true
	u.mu.Unlock()
	return committed, nil
}

// putResult waits for the Put to return. A Put that succeeded gives
// errAlreadyStored: the caller decides whether it ended early.
func (u *upload) putResult(ctx context.Context) error {
	select {
	case <-u.putDone:
	case <-ctx.Done():
		return ctx.Err()
	}
	if u.putErr == nil {
		return errAlreadyStored
	}
	return u.putErr
}

// putEnded records the Put's result; a failed Put ends the session.
func (u *upload) putEnded(err error, pr *io.PipeReader) {
	pr.CloseWithError(errPutEnded)
	u.cancel()
	u.putErr = err
	close(u.putDone)
	u.mu.Lock()
	if err == nil {
		u.complete = true // even if it ended early: the blob is stored
	} else {
		u.ended = true
	}
	u.mu.Unlock()
	if err != nil {
		u.us.drop(u)
	}
}

// abort ends the session: its Put fails on err, so nothing is stored
// unless it already was.
func (u *upload) abort(err error) {
	u.mu.Lock()
	u.ended = true
	if u.stopIdle != nil {
		u.stopIdle()
		u.stopIdle = nil
	}
	u.mu.Unlock()
	u.pw.CloseWithError(err)
	u.cancel()
	u.us.drop(u)
}
