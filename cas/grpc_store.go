package cas

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/internal/digest"
	"github.com/kilnbuild/kiln/internal/resourcename"
)

const (
	// grpcStoreChunkBytes is the size of one ByteStream WriteRequest.
	grpcStoreChunkBytes = 1 << 20
	// grpcStoreBatchBytes is the largest blob Put sends with
	// BatchUpdateBlobs (one round trip, no stream); it stays far below
	// the 4 MiB that servers commonly accept per batch.
	grpcStoreBatchBytes = 64 << 10
	// grpcStoreFindMissingBatch bounds the digests of one
	// FindMissingBlobs request, keeping it well under gRPC's default
	// 4 MiB message limit even for SHA-512 digests.
	grpcStoreFindMissingBatch = 10_000
)

// GRPCStore is a BlobStore backed by a remote REAPI CAS (Kiln's or any
// other): FindMissingBlobs for FindMissing, BatchUpdateBlobs for small Puts
// and ByteStream Write for the rest, ByteStream Read for Get. Workers use
// it when they run apart from the CAS.
//
// Content is verified on the way out (Put hashes what it sends and aborts
// the upload on a mismatch, so nothing is committed) and, for whole-blob
// Gets, on the way in.
type GRPCStore struct {
	cas      repb.ContentAddressableStorageClient
	bs       bytestream.ByteStreamClient
	instance string

	batchBytes       int64
	findMissingBatch int
}

var _ BlobStore = (*GRPCStore)(nil)

// NewGRPCStore returns a store that talks to the CAS behind conn under the
// given instance name.
func NewGRPCStore(conn grpc.ClientConnInterface, instance string) *GRPCStore {
	return &GRPCStore{
		cas:              repb.NewContentAddressableStorageClient(conn),
		bs:               bytestream.NewByteStreamClient(conn),
		instance:         instance,
		batchBytes:       grpcStoreBatchBytes,
		findMissingBatch: grpcStoreFindMissingBatch,
	}
}

// FindMissing implements BlobStore. Digests go to the server grouped by
// digest function (one function per request) and in batches.
func (s *GRPCStore) FindMissing(ctx context.Context, ds []digest.Digest) ([]digest.Digest, error) {
	byFunction := make(map[digest.Function][]digest.Digest)
	var functions []digest.Function
	seen := make(map[digest.Digest]bool, len(ds))
	for _, d := range ds {
		if d.IsEmpty() || seen[d] {
			continue
		}
		seen[d] = true
		if _, ok := byFunction[d.Function]; !ok {
			functions = append(functions, d.Function)
		}
		byFunction[d.Function] = append(byFunction[d.Function], d)
	}
	absent := make(map[digest.Digest]bool)
	for _, fn := range functions {
		all := byFunction[fn]
		for start := 0; start < len(all); start += s.findMissingBatch {
			batch := all[start:min(start+s.findMissingBatch, len(all))]
			req := &repb.FindMissingBlobsRequest{InstanceName: s.instance, DigestFunction: fn,
				BlobDigests: make([]*repb.Digest, len(batch))}
			for i, d := range batch {
				req.BlobDigests[i] = d.Proto()
			}
			resp, err := s.cas.FindMissingBlobs(ctx, req)
			if err != nil {
				return nil, fmt.Errorf("cas: remote FindMissingBlobs of %d %s digests: %w", len(batch), digest.FunctionName(fn), err)
			}
			for _, pd := range resp.GetMissingBlobDigests() {
				d, err := digest.FromProto(fn, pd)
				if err != nil {
					return nil, fmt.Errorf("cas: remote FindMissingBlobs answered a malformed digest: %w", err)
				}
				absent[d] = true
			}
		}
	}
	var missing []digest.Digest
	for _, d := range ds {
		if absent[d] {
			missing = append(missing, d)
		}
	}
	return missing, nil
}

// Put implements BlobStore.
func (s *GRPCStore) Put(ctx context.Context, d digest.Digest, r io.Reader) error {
	if d.Size == 0 {
		// The empty blob is always present; still check r is empty.
		if err := digest.Copy(io.Discard, r, d); err != nil {
			return fmt.Errorf("cas: writing %s: %w", d, err)
		}
		return nil
	}
	if d.Size <= s.batchBytes {
		var buf bytes.Buffer
		if err := digest.Copy(&buf, r, d); err != nil {
			return fmt.Errorf("cas: writing %s: %w", d, err)
		}
		err := s.batchUpdate(ctx, d, buf.Bytes())
		if c := status.Code(err); c != codes.Unimplemented && c != codes.InvalidArgument && c != codes.ResourceExhausted {
			return err
		}
		// The server refuses batches (or this one): stream it.
		r = bytes.NewReader(buf.Bytes())
	}
	return s.write(ctx, d, r)
}

func (s *GRPCStore) batchUpdate(ctx context.Context, d digest.Digest, data []byte) error {
	resp, err := s.cas.BatchUpdateBlobs(ctx, &repb.BatchUpdateBlobsRequest{
		InstanceName:   s.instance,
		DigestFunction: d.Function,
		Requests:       []*repb.BatchUpdateBlobsRequest_Request{{Digest: d.Proto(), Data: data}},
	})
	if err != nil {
		return fmt.Errorf("cas: remote BatchUpdateBlobs of %s: %w", d, err)
	}
	if len(resp.GetResponses()) != 1 {
		return fmt.Errorf("cas: remote BatchUpdateBlobs of %s answered %d responses", d, len(resp.GetResponses()))
	}
	if st := status.FromProto(resp.GetResponses()[0].GetStatus()); st.Code() != codes.OK {
		return fmt.Errorf("cas: remote BatchUpdateBlobs of %s: %w", d, st.Err())
	}
	return nil
}

// write uploads d with ByteStream Write, hashing as it goes: the last
// request (finish_write) is only sent once the content is verified, so a
// wrong or short reader aborts the upload and nothing is committed.
func (s *GRPCStore) write(ctx context.Context, d digest.Digest, r io.Reader) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // aborts the stream on every early return
	stream, err := s.bs.Write(ctx)
	if err != nil {
		return fmt.Errorf("cas: remote Write of %s: %w", d, err)
	}
	name := resourcename.Upload{Blob: resourcename.Blob{Instance: s.instance, Digest: d}, UUID: newUUID()}.String()
	v := digest.NewVerifier(d)
	buf := make([]byte, min(grpcStoreChunkBytes, d.Size))
	var offset int64
	endedEarly := false
	for {
		n, rerr := io.ReadFull(r, buf)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			return fmt.Errorf("cas: writing %s: reading the content: %w", d, rerr)
		}
		if _, err := v.Write(buf[:n]); err != nil {
			return fmt.Errorf("cas: writing %s: %w", d, err)
		}
		finish := rerr != nil || v.Written() == d.Size
		if finish {
			if err := expectEOF(r, v); err != nil {
				return fmt.Errorf("cas: writing %s: %w", d, err)
			}
			if err := v.Verify(); err != nil {
				return fmt.Errorf("cas: writing %s: %w", d, err)
			}
		}
		req := &bytestream.WriteRequest{WriteOffset: offset, Data: buf[:n], FinishWrite: finish}
		if offset == 0 {
			req.ResourceName = name
		}
		if err := stream.Send(req); err != nil {
			if !errors.Is(err, io.EOF) {
				return fmt.Errorf("cas: remote Write of %s: %w", d, err)
			}
			// The server ended the stream: it has the blob already,
			// or failed; CloseAndRecv tells which.
			endedEarly = !finish
			break
		}
		offset += int64(n)
		if finish {
			break
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("cas: remote Write of %s: %w", d, err)
	}
	if resp.GetCommittedSize() != d.Size {
		return fmt.Errorf("cas: remote Write of %s committed %d bytes", d, resp.GetCommittedSize())
	}
	if endedEarly {
		// The server holds the right blob; whether r held it too is
		// still this Put's answer.
		if _, err := io.Copy(v, r); err != nil {
			return fmt.Errorf("cas: writing %s: %w", d, err)
		}
		if err := v.Verify(); err != nil {
			return fmt.Errorf("cas: writing %s: %w", d, err)
		}
	}
	return nil
}

// expectEOF checks that r has nothing beyond what v has seen.
func expectEOF(r io.Reader, v *digest.Verifier) error {
	var one [1]byte
	for {
		n, err := r.Read(one[:])
		if n > 0 {
			_, werr := v.Write(one[:n]) // fails: the content is too long
			return werr
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the content: %w", err)
		}
	}
}

// Get implements BlobStore with a ByteStream Read.
func (s *GRPCStore) Get(ctx context.Context, d digest.Digest, offset, limit int64) (io.ReadCloser, error) {
	if d.IsEmpty() {
		return emptyReader(), nil
	}
	want := d.Size - min(offset, d.Size)
	if limit > 0 {
		want = min(want, limit)
	}
	ctx, cancel := context.WithCancel(ctx)
	stream, err := s.bs.Read(ctx, &bytestream.ReadRequest{
		ResourceName: resourcename.Blob{Instance: s.instance, Digest: d}.String(),
		ReadOffset:   offset,
		ReadLimit:    limit,
	})
	if err != nil {
		cancel()
		return nil, readError(d, err)
	}
	gr := &grpcReader{d: d, stream: stream, cancel: cancel, remaining: want}
	if offset == 0 && want == d.Size {
		gr.verifier = digest.NewVerifier(d)
	}
	// gRPC reports a missing blob on the first Recv: take it now, so that
	// Get itself fails with ErrNotFound.
	if err := gr.fill(); err != nil && err != io.EOF {
		cancel()
		return nil, err
	}
	return gr, nil
}

func readError(d digest.Digest, err error) error {
	if status.Code(err) == codes.NotFound {
		return fmt.Errorf("cas: remote Read of %s: %w: %w", d, ErrNotFound, err)
	}
	return fmt.Errorf("cas: remote Read of %s: %w", d, err)
}

// grpcReader streams the responses of a ByteStream Read, checking that
// exactly the expected bytes arrive.
type grpcReader struct {
	d         digest.Digest
	stream    bytestream.ByteStream_ReadClient
	cancel    context.CancelFunc
	buf       []byte
	remaining int64 // bytes still expected from the server
	verifier  *digest.Verifier
	err       error // sticky: io.EOF at the end
}

// fill receives the next non-empty response into buf, or sets err.
func (r *grpcReader) fill() error {
	for len(r.buf) == 0 && r.err == nil {
		resp, err := r.stream.Recv()
		switch {
		case err == io.EOF:
			r.err = r.finish()
		case err != nil:
			r.err = readError(r.d, err)
		default:
			data := resp.GetData()
			if int64(len(data)) > r.remaining {
				r.err = fmt.Errorf("cas: remote Read of %s: %w: the server sent more bytes than requested", r.d, digest.ErrMismatch)
				break
			}
			r.remaining -= int64(len(data))
			if r.verifier != nil {
				_, _ = r.verifier.Write(data) // cannot overflow: remaining bounds it
			}
			r.buf = data
		}
	}
	return r.err
}

func (r *grpcReader) finish() error {
	if r.remaining != 0 {
		return fmt.Errorf("cas: remote Read of %s ended %d bytes short: %w", r.d, r.remaining, io.ErrUnexpectedEOF)
	}
	if r.verifier != nil {
		if err := r.verifier.Verify(); err != nil {
			return fmt.Errorf("cas: remote Read of %s: %w", r.d, err)
		}
	}
	return io.EOF
}

func (r *grpcReader) Read(p []byte) (int, error) {
	if len(r.buf) == 0 {
		if err := r.fill(); len(r.buf) == 0 {
			return 0, err
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *grpcReader) Close() error {
	r.cancel()
	return nil
}

// newUUID returns a random (version 4) UUID for an upload name.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
