package loadgen

import (
	"context"
	"fmt"
	"sync"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/rpc/code"
)

// batchOverhead is room left in a batch request for everything but blob
// bytes (digests, framing), so that a batch stays under the server's limit.
const batchOverhead = 64 << 10

// Upload stores blobs on the server for a scenario's setup: blobs that fit go
// in BatchUpdateBlobs requests, the others through ByteStream, with
// concurrency requests in flight.
func (c *Client) Upload(ctx context.Context, blobs []Blob, concurrency int) error {
	var (
		batches [][]Blob
		cur     []Blob
		curSize int64
		limit   = c.MaxBatchBytes - batchOverhead
	)
	for _, b := range blobs {
		if b.Digest.Size > limit/2 {
			batches = append(batches, []Blob{b}) // alone: streamed
			continue
		}
		if curSize+b.Digest.Size > limit || len(cur) == 1000 {
			batches = append(batches, cur)
			cur, curSize = nil, 0
		}
		cur = append(cur, b)
		curSize += b.Digest.Size
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	return forEach(ctx, len(batches), concurrency, func(ctx context.Context, i int) error {
		batch := batches[i]
		if len(batch) == 1 && batch[0].Digest.Size > limit/2 {
			_, err := c.WriteBlob(ctx, batch[0], nil)
			return err
		}
		return c.BatchUpload(ctx, batch)
	})
}

// BatchUpload stores blobs with one BatchUpdateBlobs request and fails unless
// the server accepted every one of them.
func (c *Client) BatchUpload(ctx context.Context, blobs []Blob) error {
	req := c.batchRequest(blobs)
	resp, err := c.CAS.BatchUpdateBlobs(ctx, req)
	return checkBatchResponse(req, resp, err)
}

func (c *Client) batchRequest(blobs []Blob) *repb.BatchUpdateBlobsRequest {
	req := &repb.BatchUpdateBlobsRequest{
		InstanceName:   c.Instance,
		DigestFunction: c.DigestFunction,
		Requests:       make([]*repb.BatchUpdateBlobsRequest_Request, len(blobs)),
	}
	for i, b := range blobs {
		req.Requests[i] = &repb.BatchUpdateBlobsRequest_Request{Digest: b.Digest.Proto(), Data: b.Bytes()}
	}
	return req
}

func checkBatchResponse(req *repb.BatchUpdateBlobsRequest, resp *repb.BatchUpdateBlobsResponse, err error) error {
	if err != nil {
		return fmt.Errorf("BatchUpdateBlobs: %w", err)
	}
	if n, want := len(resp.GetResponses()), len(req.GetRequests()); n != want {
		return fmt.Errorf("BatchUpdateBlobs: %d responses for %d blobs", n, want)
	}
	for _, r := range resp.GetResponses() {
		if c := r.GetStatus().GetCode(); c != int32(code.Code_OK) {
			return fmt.Errorf("BatchUpdateBlobs: blob %s/%d: %s: %s", r.GetDigest().GetHash(), r.GetDigest().GetSizeBytes(), code.Code(c), r.GetStatus().GetMessage())
		}
	}
	return nil
}

// forEach calls fn for 0..n-1 on up to concurrency goroutines and returns the
// first error; the first error cancels the calls not yet made.
func forEach(ctx context.Context, n, concurrency int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan int)
	var wg sync.WaitGroup
	for range max(concurrency, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && ctx.Err() != nil {
		return err
	}
	return nil
}
