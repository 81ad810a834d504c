package loadgen

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/internal/digest"
)

// findMissingVariants is the number of distinct requests the scenario cycles
// through; each has its own absent digests so a server cannot replay an answer.
const findMissingVariants = 8

// findMissingBlobSize is the size of the present blobs; it does not matter to
// FindMissing, so they are small to upload.
const findMissingBlobSize = 64

// FindMissing sends FindMissingBlobs requests of Digests digests, half of
// them present (uploaded first), the way Bazel checks its inputs before an
// upload, and checks that exactly the absent half comes back.
type FindMissing struct {
	Digests   int
	Load      Load
	Generator *BlobGenerator
}

// Name implements Scenario.
func (s *FindMissing) Name() string { return fmt.Sprintf("findmissing/%d", s.Digests) }

// Run implements Scenario.
func (s *FindMissing) Run(ctx context.Context, c *Client) (Result, error) {
	if s.Digests < 2 {
		return Result{}, fmt.Errorf("findmissing needs at least 2 digests per request, not %d", s.Digests)
	}
	present := make([]Blob, s.Digests/2)
	for i := range present {
		b, err := s.Generator.Next(findMissingBlobSize)
		if err != nil {
			return Result{}, err
		}
		present[i] = b
	}
	if err := c.Upload(ctx, present, s.Load.concurrency()); err != nil {
		return Result{}, fmt.Errorf("uploading %d present blobs: %w", len(present), err)
	}
	type variant struct {
		req    *repb.FindMissingBlobsRequest
		absent map[string]bool
	}
	variants := make([]variant, findMissingVariants)
	for i := range variants {
		req := &repb.FindMissingBlobsRequest{InstanceName: c.Instance, DigestFunction: c.DigestFunction}
		absent := make(map[string]bool, s.Digests-len(present))
		// Interleave present and absent digests, as a real input list would.
		for j := range s.Digests {
			if j%2 == 0 && j/2 < len(present) {
				req.BlobDigests = append(req.BlobDigests, present[j/2].Digest.Proto())
				continue
			}
			d := randomDigest(c.DigestFunction, findMissingBlobSize)
			absent[d.Hash] = true
			req.BlobDigests = append(req.BlobDigests, d.Proto())
		}
		variants[i] = variant{req, absent}
	}
	res := drive(ctx, s.Name(), s.Load, func(ctx context.Context, seq int64) (sample, error) {
		v := variants[seq%findMissingVariants]
		t0 := time.Now()
		resp, err := c.CAS.FindMissingBlobs(ctx, v.req)
		lat := time.Since(t0)
		if err != nil {
			return sample{}, fmt.Errorf("FindMissingBlobs: %w", err)
		}
		missing := resp.GetMissingBlobDigests()
		if len(missing) != len(v.absent) {
			return sample{}, fmt.Errorf("FindMissingBlobs: %d digests missing, want %d", len(missing), len(v.absent))
		}
		seen := make(map[string]bool, len(missing))
		for _, d := range missing {
			if !v.absent[d.GetHash()] || seen[d.GetHash()] {
				return sample{}, fmt.Errorf("FindMissingBlobs: blob %s/%d reported missing wrongly or twice", d.GetHash(), d.GetSizeBytes())
			}
			seen[d.GetHash()] = true
		}
		return sample{latency: lat, items: int64(len(v.req.BlobDigests))}, nil
	})
	res.Notes = append(res.Notes, fmt.Sprintf("%d present, %d absent per request", len(present), s.Digests-len(present)))
	return res, nil
}

// randomDigest is a digest of size bytes that no blob has, in practice.
func randomDigest(fn digest.Function, size int64) digest.Digest {
	h := make([]byte, digest.NewHasher(fn).Size())
	_, _ = crand.Read(h) // never fails
	return digest.Digest{Function: fn, Hash: hex.EncodeToString(h), Size: size}
}
