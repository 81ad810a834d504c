package scheduler

import (
	"context"
	"fmt"
)

// opOutput holds the recent bytes of an operation's two streams.
type opOutput struct {
	streams [2]tailBuffer
}

// tailBuffer keeps the last bytes appended to a stream. start is the
// offset of buf[0] in the whole stream.
type tailBuffer struct {
	buf   []byte
	start int64
}

func (b *tailBuffer) append(data []byte, limit int) {
	b.buf = append(b.buf, data...)
	if over := len(b.buf) - limit; over > 0 {
		// Reslicing drops the head without copying; append copies the
		// live bytes into a fresh array when it grows, so the dropped
		// head is freed then.
		b.buf = b.buf[over:]
		b.start += int64(over)
	}
}

func (b *tailBuffer) read(offset int64, limit int) ([]byte, int64) {
	offset = max(min(offset, b.start+int64(len(b.buf))), b.start)
	data := b.buf[offset-b.start:]
	if len(data) > limit {
		data = data[:limit]
	}
	return append([]byte(nil), data...), offset
}

func streamIndex(s OutputStream) (int, error) {
	switch s {
	case Stdout:
		return 0, nil
	case Stderr:
		return 1, nil
	}
	return 0, fmt.Errorf("unknown output stream %d", s)
}

// AppendOutput implements OutputStore.
func (m *MemoryState) AppendOutput(ctx context.Context, id string, s OutputStream, data []byte) error {
	i, err := streamIndex(s)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	op, ok := m.ops[id]
	if !ok {
		return fmt.Errorf("operation %s: %w", id, ErrNotFound)
	}
	if op.Done() || len(data) == 0 {
		return nil
	}
	out, ok := m.outputs[id]
	if !ok {
		out = &opOutput{}
		m.outputs[id] = out
	}
	out.streams[i].append(data, m.outputLimit)
	m.outChanged.fire(id)
	return nil
}

// ReadOutput implements OutputStore.
func (m *MemoryState) ReadOutput(ctx context.Context, id string, s OutputStream, offset int64, limit int) (OutputRead, error) {
	i, err := streamIndex(s)
	if err != nil {
		return OutputRead{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	op, ok := m.ops[id]
	if !ok {
		return OutputRead{}, fmt.Errorf("operation %s: %w", id, ErrNotFound)
	}
	r := OutputRead{Offset: offset, Closed: op.Done()}
	if out, ok := m.outputs[id]; ok {
		r.Data, r.Offset = out.streams[i].read(offset, limit)
	}
	return r, nil
}

// OutputChanged implements OutputStore.
func (m *MemoryState) OutputChanged(ctx context.Context, id string) (<-chan struct{}, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.ops[id]; !ok {
		return closedChan, nil
	}
	return m.outChanged.wait(id), nil
}
