package loadgen

import (
	"context"
	"fmt"
	"time"
)

// BatchUpdate uploads new unique small blobs with BatchUpdateBlobs, Blobs of
// BlobSize bytes per request.
type BatchUpdate struct {
	Blobs     int
	BlobSize  int64
	Load      Load
	Generator *BlobGenerator
}

// Name implements Scenario.
func (s *BatchUpdate) Name() string {
	return fmt.Sprintf("batchupdate/%dx%s", s.Blobs, FormatSize(s.BlobSize))
}

// Run implements Scenario.
func (s *BatchUpdate) Run(ctx context.Context, c *Client) (Result, error) {
	if s.Blobs < 1 {
		return Result{}, fmt.Errorf("batchupdate needs at least 1 blob per request, not %d", s.Blobs)
	}
	if err := s.Generator.Prepare(s.BlobSize); err != nil {
		return Result{}, err
	}
	res := drive(ctx, s.Name(), s.Load, func(ctx context.Context, _ int64) (sample, error) {
		t0 := time.Now()
		blobs := make([]Blob, s.Blobs)
		for i := range blobs {
			b, err := s.Generator.Next(s.BlobSize)
			if err != nil {
				return sample{}, err
			}
			blobs[i] = b
		}
		req := c.batchRequest(blobs)
		t1 := time.Now()
		resp, err := c.CAS.BatchUpdateBlobs(ctx, req)
		lat := time.Since(t1)
		if err := checkBatchResponse(req, resp, err); err != nil {
			return sample{generator: t1.Sub(t0)}, err
		}
		return sample{latency: lat, generator: t1.Sub(t0), bytes: int64(s.Blobs) * s.BlobSize, items: int64(s.Blobs)}, nil
	})
	res.Notes = append(res.Notes, generatorNote(res))
	return res, nil
}
