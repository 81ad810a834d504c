package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"

	bspb "google.golang.org/genproto/googleapis/bytestream"

	"github.com/kilnbuild/kiln/internal/digest"
)

// WriteBlob uploads b with one ByteStream Write in chunks of c.ChunkSize.
// It reports whether the server ended the upload early because it already
// held the blob (allowed by REAPI; it means the server did not get all bytes).
func (c *Client) WriteBlob(ctx context.Context, b Blob, scratch []byte) (early bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.ByteStream.Write(ctx)
	if err != nil {
		return false, fmt.Errorf("opening write of %s: %w", b.Digest, err)
	}
	name := WriteResourceName(c.Instance, b.Digest)
	var offset int64
	sendErr := b.Chunks(c.ChunkSize, scratch, func(p []byte) error {
		next := offset + int64(len(p))
		req := &bspb.WriteRequest{WriteOffset: offset, Data: p, FinishWrite: next == b.Digest.Size}
		if offset == 0 {
			req.ResourceName = name
		}
		if err := stream.Send(req); err != nil {
			return err
		}
		offset = next
		return nil
	})
	// io.EOF from Send means the server closed the stream; its status and
	// committed size come from CloseAndRecv.
	if sendErr != nil && !errors.Is(sendErr, io.EOF) {
		return false, fmt.Errorf("writing %s: %w", b.Digest, sendErr)
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return false, fmt.Errorf("writing %s: %w", b.Digest, err)
	}
	if resp.GetCommittedSize() != b.Digest.Size {
		return false, fmt.Errorf("writing %s: server committed %d bytes, want %d", b.Digest, resp.GetCommittedSize(), b.Digest.Size)
	}
	return offset < b.Digest.Size, nil
}

// ReadBlob downloads b with one ByteStream Read and checks that it got the
// right number of bytes ending with b's tag. With verify, it also hashes the
// bytes, which costs client CPU that a small machine shares with the server.
func (c *Client) ReadBlob(ctx context.Context, b Blob, verify bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.ByteStream.Read(ctx, &bspb.ReadRequest{ResourceName: ReadResourceName(c.Instance, b.Digest)})
	if err != nil {
		return fmt.Errorf("reading %s: %w", b.Digest, err)
	}
	var v *digest.Verifier
	if verify {
		v = digest.NewVerifier(b.Digest)
	}
	var (
		n    int64
		tail = make([]byte, 0, 2*tagSize)
	)
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading %s after %d bytes: %w", b.Digest, n, err)
		}
		p := resp.GetData()
		n += int64(len(p))
		if n > b.Digest.Size {
			return fmt.Errorf("reading %s: got more than %d bytes", b.Digest, b.Digest.Size)
		}
		if v != nil {
			v.Write(p)
		}
		tail = keepTail(tail, p)
	}
	if n != b.Digest.Size {
		return fmt.Errorf("reading %s: got %d bytes, want %d", b.Digest, n, b.Digest.Size)
	}
	if !b.HasTag(tail) {
		return fmt.Errorf("reading %s: content does not end with the blob's tag", b.Digest)
	}
	if v != nil {
		if err := v.Verify(); err != nil {
			return fmt.Errorf("reading %s: %w", b.Digest, err)
		}
	}
	return nil
}

// keepTail appends p to tail and keeps only the last tagSize bytes.
func keepTail(tail, p []byte) []byte {
	if len(p) >= tagSize {
		return append(tail[:0], p[len(p)-tagSize:]...)
	}
	tail = append(tail, p...)
	if len(tail) > tagSize {
		tail = append(tail[:0], tail[len(tail)-tagSize:]...)
	}
	return tail
}
