package cas

import (
	"errors"
	"fmt"
	"io"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/internal/digest"
	"github.com/kilnbuild/kiln/internal/resourcename"
)

// errShortBlob is wrapped by errors about a store that served fewer bytes
// than the digest says: a damaged store, never the client's fault.
var errShortBlob = errors.New("the store returned fewer bytes than the blob's size")

// Read implements bytestream.ByteStreamServer (checklist items 18–20). Data
// goes out in chunks of readChunkBytes, so memory stays bounded whatever the
// blob's size.
func (s *ByteStreamServer) Read(req *bytestream.ReadRequest, stream bytestream.ByteStream_ReadServer) error {
	ctx := stream.Context()
	rn, err := resourcename.ParseRead(req.GetResourceName())
	if err != nil {
		if s.streams != nil {
			r, ok, serr := s.streams.OpenStream(ctx, req.GetResourceName())
			if serr != nil {
				return s.fail(ctx, "Read", serr)
			}
			if ok {
				return s.readLiveStream(req, r, stream)
			}
		}
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if err := checkBlobName(rn); err != nil {
		return status.Errorf(codes.InvalidArgument, "resource name %q: %v", req.GetResourceName(), err)
	}
	d, offset, limit := rn.Digest, req.GetReadOffset(), req.GetReadLimit()
	switch {
	case limit < 0:
		return status.Errorf(codes.InvalidArgument, "read_limit %d is negative", limit)
	case offset < 0 || offset > d.Size:
		return status.Errorf(codes.OutOfRange, "read_offset %d is outside the %d bytes of %s", offset, d.Size, d)
	case rn.Compressor != repb.Compressor_IDENTITY && limit != 0:
		return status.Errorf(codes.InvalidArgument, "read_limit must be 0 for compressed-blobs, not %d", limit)
	}
	want := d.Size - offset
	if limit > 0 && limit < want {
		want = limit
	}
	body := io.ReadCloser(emptyReader())
	if !d.IsEmpty() {
		if body, err = s.store.Get(ctx, d, offset, limit); err != nil {
			return s.fail(ctx, "Read", fmt.Errorf("reading %s: %w", d, err))
		}
	}
	defer body.Close()
	src := &exactReader{r: body, want: want, d: d}
	label := compressorLabel(rn.Compressor)
	if rn.Compressor == repb.Compressor_ZSTD {
		err = s.sendCompressed(stream, src, label)
	} else {
		err = s.sendChunks(stream, src, true, label)
	}
	if err != nil {
		return s.fail(ctx, "Read", err)
	}
	return nil
}

// sendChunks sends r in ReadResponses. With fill, each chunk is filled to
// readChunkBytes before it goes; without, whatever a Read returns goes at
// once, which is what a live log needs.
func (s *ByteStreamServer) sendChunks(stream bytestream.ByteStream_ReadServer, r io.Reader, fill bool, label string) error {
	bufp := s.buffer()
	defer s.buffers.Put(bufp)
	buf := *bufp
	for {
		var n int
		var err error
		if fill {
			n, err = io.ReadFull(r, buf)
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
		} else {
			n, err = r.Read(buf)
		}
		if n > 0 {
			// Send serializes the message before it returns, so buf can
			// be reused for the next chunk.
			if serr := stream.Send(&bytestream.ReadResponse{Data: buf[:n]}); serr != nil {
				return serr
			}
			s.metrics.bytes.WithLabelValues("read", label).Add(float64(n))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// sendCompressed streams r through a zstd encoder into chunks.
func (s *ByteStreamServer) sendCompressed(stream bytestream.ByteStream_ReadServer, r io.Reader, label string) error {
	bufp := s.buffer()
	defer s.buffers.Put(bufp)
	w := &chunkWriter{stream: stream, buf: (*bufp)[:0]}
	enc := s.zstd.encoder(w)
	defer s.zstd.releaseEncoder(enc)
	if _, err := enc.ReadFrom(r); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	if err := w.flush(); err != nil {
		return err
	}
	s.metrics.bytes.WithLabelValues("read", label).Add(float64(w.sent))
	return nil
}

// chunkWriter turns writes into ReadResponses of up to cap(buf) bytes.
type chunkWriter struct {
	stream bytestream.ByteStream_ReadServer
	buf    []byte
	sent   int64
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+n]
		p = p[n:]
		written += n
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if err := w.stream.Send(&bytestream.ReadResponse{Data: w.buf}); err != nil {
		return err
	}
	w.sent += int64(len(w.buf))
	w.buf = w.buf[:0]
	return nil
}

// exactReader yields exactly want bytes of r: it stops there, and fails if
// r ends sooner, so that a damaged store cannot pass a short blob off as
// whole.
type exactReader struct {
	r    io.Reader
	want int64
	d    digest.Digest
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.want <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.want {
		p = p[:e.want]
	}
	n, err := e.r.Read(p)
	e.want -= int64(n)
	if err == io.EOF && e.want > 0 {
		return n, fmt.Errorf("%w: %s", errShortBlob, e.d)
	}
	if err == io.EOF {
		err = nil // the next call reports EOF
	}
	return n, err
}

// readLiveStream serves a stream of the StreamSource, honouring read_offset
// and read_limit as far as the stream goes.
func (s *ByteStreamServer) readLiveStream(req *bytestream.ReadRequest, r io.ReadCloser, stream bytestream.ByteStream_ReadServer) error {
	defer r.Close()
	ctx := stream.Context()
	offset, limit := req.GetReadOffset(), req.GetReadLimit()
	if offset < 0 {
		return status.Errorf(codes.OutOfRange, "read_offset %d is negative", offset)
	}
	if limit < 0 {
		return status.Errorf(codes.InvalidArgument, "read_limit %d is negative", limit)
	}
	if skipped, err := io.CopyN(io.Discard, r, offset); err != nil {
		if err == io.EOF {
			return status.Errorf(codes.OutOfRange, "read_offset %d is past the end of stream %q, which has %d bytes", offset, req.GetResourceName(), skipped)
		}
		return s.fail(ctx, "Read", err)
	}
	var src io.Reader = r
	if limit > 0 {
		src = io.LimitReader(r, limit)
	}
	if err := s.sendChunks(stream, src, false, "identity"); err != nil {
		return s.fail(ctx, "Read", err)
	}
	return nil
}
