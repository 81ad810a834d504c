package cas

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/internal/resourcename"
)

// Write implements bytestream.ByteStreamServer (checklist items 14–17).
//
// Offsets count the bytes on the wire: for compressed-blobs uploads they
// count compressed bytes, on the first request as on the others, so that a
// committed_size from QueryWriteStatus is always a valid resume offset.
func (s *ByteStreamServer) Write(stream bytestream.ByteStream_WriteServer) error {
	ctx := stream.Context()
	req, err := stream.Recv()
	if err == io.EOF {
		return status.Error(codes.InvalidArgument, "Write stream ended before its first request")
	}
	if err != nil {
		return grpcError(err)
	}
	name := req.GetResourceName()
	rn, err := resourcename.ParseWrite(name)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if err := checkBlobName(rn.Blob); err != nil {
		return status.Errorf(codes.InvalidArgument, "resource name %q: %v", name, err)
	}
	compressor := compressorLabel(rn.Compressor)

	present, err := s.present(ctx, rn.Blob)
	if err != nil {
		s.metrics.uploads.WithLabelValues("failed").Inc()
		return s.fail(ctx, "Write", err)
	}
	if present {
		s.uploads.discard(uploadKey(rn), fmt.Errorf("%w: blob %s was stored by another upload", errUploadAborted, rn.Digest))
		return s.endEarly(stream, rn)
	}

	u, gen, err := s.uploads.open(ctx, rn, req.GetWriteOffset())
	if err != nil {
		s.metrics.uploads.WithLabelValues("failed").Inc()
		return s.fail(ctx, "Write", err)
	}
	finished := false
	defer func() {
		if !finished {
			u.detach(gen)
		}
	}()
	for {
		if n := req.GetResourceName(); n != "" && n != name {
			return status.Errorf(codes.InvalidArgument, "resource_name changed in the middle of a Write, from %q to %q", name, n)
		}
		err := u.write(ctx, gen, req.GetWriteOffset(), req.GetData())
		if errors.Is(err, errAlreadyStored) {
			return s.endEarly(stream, rn)
		}
		if err != nil {
			s.metrics.uploads.WithLabelValues("failed").Inc()
			return s.fail(ctx, "Write", err)
		}
		s.metrics.bytes.WithLabelValues("write", compressor).Add(float64(len(req.GetData())))
		if req.GetFinishWrite() {
			committed, err := u.finish(ctx, gen)
			if err != nil {
				s.metrics.uploads.WithLabelValues("failed").Inc()
				return s.fail(ctx, "Write", err)
			}
			u.detach(gen) // keeps the complete session for QueryWriteStatus until it idles out
			finished = true
			s.metrics.uploads.WithLabelValues("stored").Inc()
			if err := s.expectEndOfStream(stream); err != nil {
				return err
			}
			return stream.SendAndClose(&bytestream.WriteResponse{CommittedSize: committed})
		}
		req, err = stream.Recv()
		if err == io.EOF {
			// The client ended this Write without finishing the
			// upload: a later Write resumes it (ByteStream allows
			// uploading in several calls).
			committed, _, _ := u.state()
			return stream.SendAndClose(&bytestream.WriteResponse{CommittedSize: committed})
		}
		if err != nil {
			return grpcError(err)
		}
	}
}

// present reports whether the store already holds the blob of b; the empty
// blob it always holds.
func (s *ByteStreamServer) present(ctx context.Context, b resourcename.Blob) (bool, error) {
	if b.Digest.IsEmpty() {
		return true, nil
	}
	return Has(ctx, s.store, b.Digest)
}

// endEarly answers a Write whose blob is already stored, as the spec allows
// (items 15 and 17): committed_size is the blob's size, or -1 for a
// compressed upload, whose compressed size the server cannot know.
func (s *ByteStreamServer) endEarly(stream bytestream.ByteStream_WriteServer, rn resourcename.Upload) error {
	s.metrics.uploads.WithLabelValues("already_present").Inc()
	committed := rn.Digest.Size
	if rn.Compressor != repb.Compressor_IDENTITY {
		committed = -1
	}
	return stream.SendAndClose(&bytestream.WriteResponse{CommittedSize: committed})
}

// expectEndOfStream checks that nothing follows a finish_write (item 16).
// Clients half-close right after their last request, so the answer is
// immediate; a client that does not is answered after finishGrace.
func (s *ByteStreamServer) expectEndOfStream(stream bytestream.ByteStream_WriteServer) error {
	next := make(chan *bytestream.WriteRequest, 1)
	go func() {
		req, _ := stream.Recv() // io.EOF, or the stream ended: nothing followed
		next <- req
	}()
	timer := time.NewTimer(s.finishGrace)
	defer timer.Stop()
	select {
	case req := <-next:
		if req != nil {
			return status.Errorf(codes.InvalidArgument, "a request (write_offset %d, %d bytes) followed finish_write",
				req.GetWriteOffset(), len(req.GetData()))
		}
		return nil
	case <-timer.C:
		return nil
	}
}

// checkBlobName rejects names the services cannot serve although they
// parse: unsupported compressors, and the hash of the empty blob with
// another size.
func checkBlobName(b resourcename.Blob) error {
	if !compressorSupported(b.Compressor) {
		return fmt.Errorf("compressor %s is not supported; use one of %v", strings.ToLower(b.Compressor.String()), SupportedCompressors())
	}
	return checkSize(b.Digest)
}

func compressorLabel(c repb.Compressor_Value) string {
	return strings.ToLower(c.String())
}
