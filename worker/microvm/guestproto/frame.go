package guestproto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Kind says what a frame carries.
type Kind byte

// Frames from the host to the agent.
const (
	// KindSetup carries a Setup: what to prepare before any action.
	KindSetup Kind = 'S'
	// KindRun carries a Run: the one action this guest runs.
	KindRun Kind = 'X'
)

// Frames from the agent to the host.
const (
	// KindReady carries a Ready: the agent waits for the next host frame.
	KindReady Kind = 'R'
	// KindStdout and KindStderr carry raw chunks of the action's output.
	KindStdout Kind = 'O'
	KindStderr Kind = 'E'
	// KindDone carries a Done: the action ended and its outputs are on
	// the output device.
	KindDone Kind = 'D'
	// KindFatal carries a Fatal: the agent cannot go on.
	KindFatal Kind = 'F'
)

// magic starts every frame, so that a stray byte on the line is caught at
// once instead of being read as a length.
var magic = [4]byte{'K', 'L', 'N', '1'}

// MaxPayload bounds one frame. Output chunks are far smaller; a Run with
// a huge environment is the largest legitimate frame.
const MaxPayload = 16 << 20

// headerSize is magic, kind, and a big-endian uint32 payload length.
const headerSize = len(magic) + 1 + 4

// ErrBadFrame is wrapped by ReadFrame's errors for bytes that are not a
// frame.
var ErrBadFrame = errors.New("malformed frame")

// WriteFrame writes one frame in a single Write, so that concurrent writers
// serialized by the caller never interleave inside a frame.
func WriteFrame(w io.Writer, k Kind, payload []byte) error {
	if len(payload) > MaxPayload {
		return fmt.Errorf("frame of %d bytes is over the %d limit", len(payload), MaxPayload)
	}
	buf := make([]byte, headerSize+len(payload))
	copy(buf, magic[:])
	buf[len(magic)] = byte(k)
	binary.BigEndian.PutUint32(buf[len(magic)+1:], uint32(len(payload)))
	copy(buf[headerSize:], payload)
	_, err := w.Write(buf)
	return err
}

// ReadFrame reads one frame. io.EOF means the stream ended cleanly between
// frames.
func ReadFrame(r io.Reader) (Kind, []byte, error) {
	var h [headerSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, fmt.Errorf("%w: stream ended inside a header", ErrBadFrame)
		}
		return 0, nil, err
	}
	if [4]byte(h[:4]) != magic {
		return 0, nil, fmt.Errorf("%w: bad magic %q", ErrBadFrame, h[:4])
	}
	n := binary.BigEndian.Uint32(h[len(magic)+1:])
	if n > MaxPayload {
		return 0, nil, fmt.Errorf("%w: payload of %d bytes is over the %d limit", ErrBadFrame, n, MaxPayload)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, fmt.Errorf("%w: payload cut short: %w", ErrBadFrame, err)
	}
	return Kind(h[len(magic)]), payload, nil
}
