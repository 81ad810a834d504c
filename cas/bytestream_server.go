package cas

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultUploadIdleTimeout is how long an interrupted upload waits to be
// resumed when the options give no other time.
const DefaultUploadIdleTimeout = 10 * time.Minute

// readChunkBytes is the size of the ReadResponse chunks: big enough to keep
// per-message costs small, small enough to keep memory bounded (item 19).
const readChunkBytes = 1 << 20

// StreamSource serves byte streams that are not blobs, such as the live
// stdout and stderr of running actions (checklist item 20). The execution
// service implements it and hands the names out in ExecuteOperationMetadata.
type StreamSource interface {
	// OpenStream opens the stream called name. ok is false if name is not
	// a name the source hands out; then the Read fails as a malformed blob
	// name. A name it handed out that has expired is ok with an error
	// wrapping ErrNotFound. The reader yields bytes as they are produced
	// and io.EOF when the stream ends.
	OpenStream(ctx context.Context, name string) (r io.ReadCloser, ok bool, err error)
}

// ByteStreamServerOptions configures a ByteStreamServer; the zero value is
// usable.
type ByteStreamServerOptions struct {
	// Logger receives internal errors; nil means slog.Default().
	Logger *slog.Logger
	// Registerer receives the service's metrics; nil means none.
	Registerer prometheus.Registerer
	// UploadIdleTimeout is how long an interrupted upload is kept for the
	// client to resume it; 0 means DefaultUploadIdleTimeout.
	UploadIdleTimeout time.Duration
	// Streams, if not nil, serves Reads of names that are not blob names.
	Streams StreamSource
}

// ByteStreamServer is the google.bytestream.ByteStream service of REAPI:
// Read and Write of CAS blobs, plain or zstd-compressed, with resumable
// uploads (see uploads).
type ByteStreamServer struct {
	store   BlobStore
	streams StreamSource
	log     *slog.Logger
	metrics *byteStreamMetrics
	zstd    *zstdCodec
	uploads *uploads
	buffers sync.Pool // of *[]byte, readChunkBytes long

	// finishGrace is how long Write waits, after finish_write, for the
	// client to half-close (to catch data sent after finish_write). Clients
	// half-close right after their last message, so this is rarely waited.
	finishGrace time.Duration
}

var _ bytestream.ByteStreamServer = (*ByteStreamServer)(nil)

// NewByteStreamServer returns a ByteStream service over store. Call Close
// when done with it to drop interrupted uploads.
func NewByteStreamServer(store BlobStore, opts ByteStreamServerOptions) *ByteStreamServer {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	idle := opts.UploadIdleTimeout
	if idle <= 0 {
		idle = DefaultUploadIdleTimeout
	}
	codec := &zstdCodec{}
	return &ByteStreamServer{
		store:       store,
		streams:     opts.Streams,
		log:         log,
		metrics:     newByteStreamMetrics(opts.Registerer),
		zstd:        codec,
		uploads:     newUploads(store, codec, idle),
		finishGrace: time.Second,
	}
}

// Register adds the service to r.
func (s *ByteStreamServer) Register(r grpc.ServiceRegistrar) {
	r.RegisterService(&byteStreamServiceDesc, s)
}

// Close aborts the uploads in progress; nothing they carried is stored.
func (s *ByteStreamServer) Close() error {
	s.uploads.close()
	return nil
}

// fail maps err for the client and logs it if it is the server's fault.
func (s *ByteStreamServer) fail(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		// The client is gone or out of time; whatever broke on the way
		// is a consequence.
		return grpcError(ctx.Err())
	}
	st := grpcError(err)
	if status.Code(st) == codes.Internal {
		s.log.ErrorContext(ctx, op+" failed", "error", err)
	}
	return st
}

func (s *ByteStreamServer) buffer() *[]byte {
	if b, ok := s.buffers.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, readChunkBytes)
	return &b
}
