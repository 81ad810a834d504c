package loadgen

import (
	"context"
	"fmt"
	"time"
)

// readSetBytes bounds how much a read scenario uploads first: enough distinct
// blobs that reads do not all hit one, without filling a small server.
const readSetBytes = 256 << 20

// ByteStreamRead downloads blobs of one size with ByteStream Read, cycling
// over a set of unique blobs it uploaded before the timed phase.
type ByteStreamRead struct {
	Size int64
	Load Load
	// Verify hashes every blob read, on the client's CPU.
	Verify    bool
	Generator *BlobGenerator
}

// Name implements Scenario.
func (s *ByteStreamRead) Name() string { return "bytestream-read/" + FormatSize(s.Size) }

// Run implements Scenario.
func (s *ByteStreamRead) Run(ctx context.Context, c *Client) (Result, error) {
	n := min(max(readSetBytes/s.Size, int64(s.Load.concurrency())), 1000)
	if s.Load.Count > 0 {
		n = min(n, s.Load.Count)
	}
	blobs := make([]Blob, n)
	for i := range blobs {
		b, err := s.Generator.Next(s.Size)
		if err != nil {
			return Result{}, err
		}
		blobs[i] = b
	}
	if err := c.Upload(ctx, blobs, s.Load.concurrency()); err != nil {
		return Result{}, fmt.Errorf("uploading %d blobs to read: %w", n, err)
	}
	res := drive(ctx, s.Name(), s.Load, func(ctx context.Context, seq int64) (sample, error) {
		b := blobs[seq%int64(len(blobs))]
		t0 := time.Now()
		if err := c.ReadBlob(ctx, b, s.Verify); err != nil {
			return sample{}, err
		}
		return sample{latency: time.Since(t0), bytes: b.Digest.Size, items: 1}, nil
	})
	res.Notes = append(res.Notes, fmt.Sprintf("%d distinct blobs", n))
	if s.Verify {
		res.Notes = append(res.Notes, "verified (client hashes)")
	}
	return res, nil
}
