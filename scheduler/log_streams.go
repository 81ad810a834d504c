package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/cas"
)

// StreamSource returns the source of the live stdout/stderr streams named
// in ExecuteOperationMetadata (checklist item 20), for the ByteStream
// service. Unknown or expired operations are errors wrapping
// cas.ErrNotFound. A reader blocks for new bytes until the operation
// completes, and ends with the context of OpenStream.
func (s *Scheduler) StreamSource() cas.StreamSource { return logStreams{s: s} }

type logStreams struct{ s *Scheduler }

func (l logStreams) OpenStream(ctx context.Context, name string) (io.ReadCloser, bool, error) {
	id, which, ok := parseStreamName(name)
	if !ok {
		return nil, false, nil
	}
	op, err := l.s.state.Get(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && streamName(op.Instance, op.ID, which) != name {
		return nil, true, fmt.Errorf("log stream %s: %w", name, cas.ErrNotFound)
	}
	if err != nil {
		return nil, true, fmt.Errorf("log stream %s: %w", name, err)
	}
	return &logReader{ctx: ctx, s: l.s, id: id, which: which}, true, nil
}

// logReader reads a live stream from its start (or the oldest byte still
// buffered) and returns io.EOF once the operation completed and every
// buffered byte was read.
type logReader struct {
	ctx    context.Context
	s      *Scheduler
	id     string
	which  OutputStream
	offset int64
}

func (r *logReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	state := r.s.state
	for {
		changed, err := state.OutputChanged(r.ctx, r.id)
		if err != nil {
			return 0, err
		}
		got, err := state.ReadOutput(r.ctx, r.id, r.which, r.offset, len(p))
		if errors.Is(err, ErrNotFound) {
			return 0, io.EOF // the operation is gone, and with it the output
		}
		if err != nil {
			return 0, err
		}
		if len(got.Data) > 0 {
			n := copy(p, got.Data)
			r.offset = got.Offset + int64(n)
			return n, nil
		}
		if got.Closed {
			return 0, io.EOF
		}
		select {
		case <-changed:
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		case <-r.s.closing:
			return 0, status.Error(codes.Unavailable, "scheduler is shutting down")
		}
	}
}

func (r *logReader) Close() error { return nil }
