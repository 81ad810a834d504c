package redisstate

import (
	"context"
	"fmt"

	"github.com/kilnbuild/kiln/scheduler"
)

// Live output lives in one Redis string per stream rather than a stream or
// list of chunks: byte offsets map straight onto GETRANGE, and trimming
// the head when the string reaches twice OutputLimit keeps appends O(1)
// per byte while reads never see more than OutputLimit bytes.

func streamNumber(st scheduler.OutputStream) (int, error) {
	switch st {
	case scheduler.Stdout:
		return 1, nil
	case scheduler.Stderr:
		return 2, nil
	}
	return 0, fmt.Errorf("unknown output stream %d", st)
}

// AppendOutput implements scheduler.OutputStore.
func (s *State) AppendOutput(ctx context.Context, id string, st scheduler.OutputStream, data []byte) error {
	n, err := streamNumber(st)
	if err != nil {
		return err
	}
	res, err := s.run(ctx, s.scripts.appendOutput, id, n, data, s.opts.OutputLimit)
	if err != nil {
		return wrapErr("appending output of "+id, err)
	}
	switch res {
	case "ok":
		return nil
	case "notfound":
		return notFound("operation", id)
	}
	return fmt.Errorf("redis state: appending output of %s: bad reply %v", id, res)
}

// ReadOutput implements scheduler.OutputStore.
func (s *State) ReadOutput(ctx context.Context, id string, st scheduler.OutputStream, offset int64, limit int) (scheduler.OutputRead, error) {
	n, err := streamNumber(st)
	if err != nil {
		return scheduler.OutputRead{}, err
	}
	res, err := s.run(ctx, s.scripts.readOutput, id, n, offset, max(limit, 0), s.opts.OutputLimit)
	if err != nil {
		return scheduler.OutputRead{}, wrapErr("reading output of "+id, err)
	}
	l, err := replyList(res)
	if err != nil || len(l) == 0 {
		return scheduler.OutputRead{}, fmt.Errorf("redis state: reading output of %s: bad reply %v", id, res)
	}
	if l[0] == "notfound" {
		return scheduler.OutputRead{}, notFound("operation", id)
	}
	if len(l) != 4 {
		return scheduler.OutputRead{}, fmt.Errorf("redis state: reading output of %s: bad reply %v", id, res)
	}
	data, _ := replyString(l[1])
	off, err := replyInt(l[2])
	if err != nil {
		return scheduler.OutputRead{}, fmt.Errorf("redis state: reading output of %s: %w", id, err)
	}
	closed, _ := replyInt(l[3])
	r := scheduler.OutputRead{Offset: off, Closed: closed == 1}
	if data != "" {
		r.Data = []byte(data)
	}
	return r, nil
}

// OutputChanged implements scheduler.OutputStore. Like OperationChanged,
// it does not look the operation up.
func (s *State) OutputChanged(ctx context.Context, id string) (<-chan struct{}, error) {
	return s.outChanged.wait(id), nil
}
