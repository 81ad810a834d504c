package kilntest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	bspb "google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"

	"github.com/kilnbuild/kiln/internal/digest"
)

// ChunkSize is how many bytes one ByteStream message carries. Bazel's 16
// KiB would make tests with many MiB slow; 1 MiB is what servers stream.
const ChunkSize = 1 << 20

// Client speaks REAPI to a server the way a build tool would, with SHA256
// digests and the default (empty) instance name. Its raw gRPC clients are
// exported for calls it has no helper for.
type Client struct {
	CAS         repb.ContentAddressableStorageClient
	ActionCache repb.ActionCacheClient
	ByteStream  bspb.ByteStreamClient
	Execution   repb.ExecutionClient
}

// NewClient wraps conn.
func NewClient(conn grpc.ClientConnInterface) *Client {
	return &Client{
		CAS:         repb.NewContentAddressableStorageClient(conn),
		ActionCache: repb.NewActionCacheClient(conn),
		ByteStream:  bspb.NewByteStreamClient(conn),
		Execution:   repb.NewExecutionClient(conn),
	}
}

// Client dials s and returns a Client on the connection.
func (s *Server) Client() *Client { return NewClient(s.Dial()) }

// Digest is the SHA256 digest of data.
func Digest(data []byte) digest.Digest { return digest.OfBytes(repb.DigestFunction_SHA256, data) }

// UploadName is a fresh ByteStream write resource name for d.
func UploadName(d digest.Digest) string {
	return fmt.Sprintf("uploads/%s/blobs/%s/%d", newUUID(), d.Hash, d.Size)
}

// newUUID returns a random (version 4) UUID, as clients name their uploads.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ReadName is the ByteStream read resource name of d.
func ReadName(d digest.Digest) string { return fmt.Sprintf("blobs/%s/%d", d.Hash, d.Size) }

// Upload writes data with ByteStream Write in ChunkSize messages and returns
// its digest. It succeeds only if the server committed the whole blob.
func (c *Client) Upload(ctx context.Context, data []byte) (digest.Digest, error) {
	d := Digest(data)
	w, err := c.StartUpload(ctx, d)
	if err != nil {
		return d, err
	}
	if err := w.Send(data, true); err != nil {
		return d, err
	}
	return d, w.Commit()
}

// Upload is one ByteStream Write in progress. It lets a test stop half way,
// to leave a partial upload on the server.
type Upload struct {
	d      digest.Digest
	name   string
	stream bspb.ByteStream_WriteClient
	offset int64
}

// StartUpload opens a ByteStream Write for d; nothing is sent yet.
func (c *Client) StartUpload(ctx context.Context, d digest.Digest) (*Upload, error) {
	stream, err := c.ByteStream.Write(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening upload of %s: %w", d, err)
	}
	return &Upload{d: d, name: UploadName(d), stream: stream}, nil
}

// Send sends data in ChunkSize messages; finish marks the last message as
// the end of the blob.
func (u *Upload) Send(data []byte, finish bool) error {
	for first := true; first || len(data) > 0; first = false {
		n := min(len(data), ChunkSize)
		req := &bspb.WriteRequest{WriteOffset: u.offset, Data: data[:n], FinishWrite: finish && n == len(data)}
		if u.offset == 0 {
			req.ResourceName = u.name
		}
		if err := u.stream.Send(req); err != nil {
			if errors.Is(err, io.EOF) {
				// The server ended the call early; its status says why.
				_, err = u.stream.CloseAndRecv()
			}
			return fmt.Errorf("uploading %s at offset %d: %w", u.d, u.offset, err)
		}
		u.offset += int64(n)
		data = data[n:]
	}
	return nil
}

// Commit ends the upload and checks the server committed all of it.
func (u *Upload) Commit() error {
	resp, err := u.stream.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("committing %s: %w", u.d, err)
	}
	if resp.GetCommittedSize() != u.d.Size {
		return fmt.Errorf("committing %s: committed_size %d, want %d", u.d, resp.GetCommittedSize(), u.d.Size)
	}
	return nil
}

// Read reads all of d with ByteStream Read.
func (c *Client) Read(ctx context.Context, d digest.Digest) ([]byte, error) {
	stream, err := c.ByteStream.Read(ctx, &bspb.ReadRequest{ResourceName: ReadName(d)})
	if err != nil {
		return nil, err
	}
	var data []byte
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return data, nil
		}
		if err != nil {
			return data, err
		}
		data = append(data, resp.GetData()...)
		if int64(len(data)) > d.Size {
			return data, fmt.Errorf("reading %s: got more than %d bytes", d, d.Size)
		}
	}
}

// FindMissing asks which of ds the server lacks.
func (c *Client) FindMissing(ctx context.Context, ds []digest.Digest) ([]digest.Digest, error) {
	req := &repb.FindMissingBlobsRequest{DigestFunction: repb.DigestFunction_SHA256}
	for _, d := range ds {
		req.BlobDigests = append(req.BlobDigests, d.Proto())
	}
	resp, err := c.CAS.FindMissingBlobs(ctx, req)
	if err != nil {
		return nil, err
	}
	missing := make([]digest.Digest, 0, len(resp.GetMissingBlobDigests()))
	for _, p := range resp.GetMissingBlobDigests() {
		d, err := digest.FromProto(repb.DigestFunction_SHA256, p)
		if err != nil {
			return nil, fmt.Errorf("server reported a bad missing digest: %w", err)
		}
		missing = append(missing, d)
	}
	return missing, nil
}
