package loadgen

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// ByteStreamWrite uploads new unique blobs of one size with ByteStream Write,
// the way Bazel uploads every missing blob.
type ByteStreamWrite struct {
	Size int64
	Load Load
	// Generator makes the blobs; it must cover Size.
	Generator *BlobGenerator
}

// Name implements Scenario.
func (s *ByteStreamWrite) Name() string { return "bytestream-write/" + FormatSize(s.Size) }

// Run implements Scenario.
func (s *ByteStreamWrite) Run(ctx context.Context, c *Client) (Result, error) {
	if err := s.Generator.Prepare(s.Size); err != nil {
		return Result{}, err
	}
	scratch := make(chan []byte, s.Load.concurrency())
	for range s.Load.concurrency() {
		scratch <- make([]byte, 0, c.ChunkSize+tagSize)
	}
	var early atomic.Int64
	res := drive(ctx, s.Name(), s.Load, func(ctx context.Context, _ int64) (sample, error) {
		t0 := time.Now()
		b, err := s.Generator.Next(s.Size)
		if err != nil {
			return sample{}, err
		}
		buf := <-scratch
		defer func() { scratch <- buf }()
		t1 := time.Now()
		wasEarly, err := c.WriteBlob(ctx, b, buf)
		if err != nil {
			return sample{generator: t1.Sub(t0)}, err
		}
		if wasEarly {
			early.Add(1) // blobs are unique: a server that claims to have one is worth a note
		}
		return sample{latency: time.Since(t1), generator: t1.Sub(t0), bytes: b.Digest.Size, items: 1}, nil
	})
	res.Notes = append(res.Notes, generatorNote(res))
	if n := early.Load(); n > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d writes ended early", n))
	}
	return res, nil
}

// generatorNote reports what making the data cost, per operation.
func generatorNote(r Result) string {
	n := r.Ops + r.Errors
	if n == 0 {
		return "generator: no ops"
	}
	return fmt.Sprintf("generator %s/op (excluded)", FormatDuration(r.GeneratorTime/time.Duration(n)))
}
