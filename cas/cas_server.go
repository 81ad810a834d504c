package cas

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/prometheus/client_golang/prometheus"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/internal/digest"
)

// DefaultMaxBatchTotalSizeBytes is the batch limit when the options give
// none: 4 MiB, the default gRPC message limit of most clients.
const DefaultMaxBatchTotalSizeBytes = 4 << 20

// batchConcurrency bounds the store calls one batch request runs at once:
// enough to hide a remote store's latency, few enough not to swamp it.
const batchConcurrency = 8

// minCompressBytes is the size under which BatchReadBlobs does not try zstd:
// a frame header would eat the gain.
const minCompressBytes = 128

// CASServerOptions configures a CASServer; the zero value is usable.
type CASServerOptions struct {
	// MaxBatchTotalSizeBytes caps the sum of blob sizes in one
	// BatchUpdateBlobs or BatchReadBlobs request; 0 means
	// DefaultMaxBatchTotalSizeBytes. Advertise the same number in
	// CacheCapabilities.max_batch_total_size_bytes.
	MaxBatchTotalSizeBytes int64
	// Logger receives internal errors; nil means slog.Default().
	Logger *slog.Logger
	// Registerer receives the service's metrics; nil means none.
	Registerer prometheus.Registerer
}

// CASServer is the REAPI ContentAddressableStorage service over one
// BlobStore. SplitBlob and SpliceBlob are not advertised and answer
// UNIMPLEMENTED.
type CASServer struct {
	repb.UnimplementedContentAddressableStorageServer

	store    BlobStore
	maxBatch int64
	log      *slog.Logger
	metrics  *casServerMetrics
	zstd     zstdCodec
}

var _ repb.ContentAddressableStorageServer = (*CASServer)(nil)

// NewCASServer returns a CAS service serving store.
func NewCASServer(store BlobStore, opts CASServerOptions) *CASServer {
	s := &CASServer{
		store:    store,
		maxBatch: opts.MaxBatchTotalSizeBytes,
		log:      opts.Logger,
		metrics:  newCASServerMetrics(opts.Registerer),
	}
	if s.maxBatch <= 0 {
		s.maxBatch = DefaultMaxBatchTotalSizeBytes
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Register adds the service to r.
func (s *CASServer) Register(r grpc.ServiceRegistrar) {
	repb.RegisterContentAddressableStorageServer(r, s)
}

// FindMissingBlobs implements repb.ContentAddressableStorageServer.
func (s *CASServer) FindMissingBlobs(ctx context.Context, req *repb.FindMissingBlobsRequest) (*repb.FindMissingBlobsResponse, error) {
	fn, err := requestFunction(req.GetDigestFunction(), firstOf(req.GetBlobDigests()))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	ds := make([]digest.Digest, 0, len(req.GetBlobDigests()))
	for i, pd := range req.GetBlobDigests() {
		d, err := parseDigest(fn, pd)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "blob_digests[%d]: %v", i, err)
		}
		if !d.IsEmpty() { // always present (checklist item 3)
			ds = append(ds, d)
		}
	}
	missing, err := s.store.FindMissing(ctx, ds)
	if err != nil {
		return nil, s.fail(ctx, "FindMissingBlobs", err)
	}
	s.metrics.digestsChecked.WithLabelValues("missing").Add(float64(len(missing)))
	s.metrics.digestsChecked.WithLabelValues("present").Add(float64(len(req.GetBlobDigests()) - len(missing)))
	resp := &repb.FindMissingBlobsResponse{MissingBlobDigests: make([]*repb.Digest, len(missing))}
	for i, d := range missing {
		resp.MissingBlobDigests[i] = d.Proto()
	}
	return resp, nil
}

// BatchUpdateBlobs implements repb.ContentAddressableStorageServer. Only an
// oversized request fails as a whole; every blob gets its own status.
func (s *CASServer) BatchUpdateBlobs(ctx context.Context, req *repb.BatchUpdateBlobsRequest) (*repb.BatchUpdateBlobsResponse, error) {
	var first *repb.Digest
	var total int64
	for _, r := range req.GetRequests() {
		if first == nil {
			first = r.GetDigest()
		}
		// The larger of the claimed and the sent size: a client must not
		// slip a big blob past the limit behind a small digest.
		total += max(r.GetDigest().GetSizeBytes(), int64(len(r.GetData())))
	}
	if total > s.maxBatch {
		return nil, status.Errorf(codes.InvalidArgument,
			"BatchUpdateBlobs of %d bytes is over max_batch_total_size_bytes %d; upload large blobs with ByteStream Write", total, s.maxBatch)
	}
	fn, err := requestFunction(req.GetDigestFunction(), first)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	resp := &repb.BatchUpdateBlobsResponse{Responses: make([]*repb.BatchUpdateBlobsResponse_Response, len(req.GetRequests()))}
	forEachConcurrently(len(req.GetRequests()), func(i int) {
		r := req.GetRequests()[i]
		err := s.updateBlob(ctx, fn, r)
		if err != nil && grpcCode(err) == codes.Internal {
			s.log.ErrorContext(ctx, "BatchUpdateBlobs: storing a blob failed", "digest", r.GetDigest().GetHash(), "error", err)
		}
		resp.Responses[i] = &repb.BatchUpdateBlobsResponse_Response{Digest: r.GetDigest(), Status: rpcStatus(err)}
	})
	if err := ctx.Err(); err != nil {
		return nil, grpcError(err)
	}
	return resp, nil
}

func (s *CASServer) updateBlob(ctx context.Context, fn digest.Function, r *repb.BatchUpdateBlobsRequest_Request) error {
	d, err := parseDigest(fn, r.GetDigest())
	if err != nil {
		return err
	}
	var src io.Reader = bytes.NewReader(r.GetData())
	switch r.GetCompressor() {
	case repb.Compressor_IDENTITY:
		if int64(len(r.GetData())) != d.Size {
			return fmt.Errorf("%w: got %d bytes for %s", digest.ErrMismatch, len(r.GetData()), d)
		}
	case repb.Compressor_ZSTD:
		dec, err := s.zstd.newDecompressor(src)
		if err != nil {
			return err
		}
		defer dec.Close()
		src = &sizeGuard{r: dec, want: d}
	default:
		return fmt.Errorf("%w: compressor %s is not supported", digest.ErrInvalid, r.GetCompressor())
	}
	if d.IsEmpty() {
		return nil // always present; the data was checked above or is ignored
	}
	if err := s.store.Put(ctx, d, src); err != nil {
		return fmt.Errorf("storing %s: %w", d, err)
	}
	s.metrics.batchBytes.WithLabelValues("update").Add(float64(d.Size))
	return nil
}

// BatchReadBlobs implements repb.ContentAddressableStorageServer.
func (s *CASServer) BatchReadBlobs(ctx context.Context, req *repb.BatchReadBlobsRequest) (*repb.BatchReadBlobsResponse, error) {
	var total int64
	for _, pd := range req.GetDigests() {
		total += max(pd.GetSizeBytes(), 0)
	}
	if total > s.maxBatch {
		return nil, status.Errorf(codes.InvalidArgument,
			"BatchReadBlobs of %d bytes is over max_batch_total_size_bytes %d; download large blobs with ByteStream Read", total, s.maxBatch)
	}
	fn, err := requestFunction(req.GetDigestFunction(), firstOf(req.GetDigests()))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	acceptsZstd := false
	for _, c := range req.GetAcceptableCompressors() {
		acceptsZstd = acceptsZstd || c == repb.Compressor_ZSTD
	}
	resp := &repb.BatchReadBlobsResponse{Responses: make([]*repb.BatchReadBlobsResponse_Response, len(req.GetDigests()))}
	forEachConcurrently(len(req.GetDigests()), func(i int) {
		pd := req.GetDigests()[i]
		r := &repb.BatchReadBlobsResponse_Response{Digest: pd, Compressor: repb.Compressor_IDENTITY}
		data, err := s.readBlob(ctx, fn, pd)
		if err != nil {
			if grpcCode(err) == codes.Internal {
				s.log.ErrorContext(ctx, "BatchReadBlobs: reading a blob failed", "digest", pd.GetHash(), "error", err)
			}
			r.Status = rpcStatus(err)
			resp.Responses[i] = r
			return
		}
		r.Data = data
		if acceptsZstd && len(data) >= minCompressBytes {
			if c := s.zstd.compress(data); len(c) < len(data) {
				r.Data, r.Compressor = c, repb.Compressor_ZSTD
			}
		}
		r.Status = rpcStatus(nil)
		resp.Responses[i] = r
	})
	if err := ctx.Err(); err != nil {
		return nil, grpcError(err)
	}
	return resp, nil
}

func (s *CASServer) readBlob(ctx context.Context, fn digest.Function, pd *repb.Digest) ([]byte, error) {
	d, err := parseDigest(fn, pd)
	if err != nil {
		return nil, err
	}
	if d.IsEmpty() {
		return []byte{}, nil
	}
	rc, err := s.store.Get(ctx, d, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", d, err)
	}
	defer rc.Close()
	data := make([]byte, d.Size)
	if _, err := io.ReadFull(rc, data); err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			err = fmt.Errorf("%w: %s", errShortBlob, d)
		}
		return nil, fmt.Errorf("reading %s: %w", d, err)
	}
	s.metrics.batchBytes.WithLabelValues("read").Add(float64(d.Size))
	return data, nil
}

// fail maps err for the client and logs it if it is the server's fault.
func (s *CASServer) fail(ctx context.Context, op string, err error) error {
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

// rpcStatus is the per-blob status of a batch response.
func rpcStatus(err error) *rpcstatus.Status {
	if err == nil {
		return &rpcstatus.Status{Code: int32(codes.OK)}
	}
	return &rpcstatus.Status{Code: int32(grpcCode(err)), Message: err.Error()}
}

func firstOf(ds []*repb.Digest) *repb.Digest {
	if len(ds) == 0 {
		return nil
	}
	return ds[0]
}

// forEachConcurrently calls f(0) ... f(n-1), at most batchConcurrency at a
// time, and returns when all have returned.
func forEachConcurrently(n int, f func(i int)) {
	sem := make(chan struct{}, batchConcurrency)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}
