package loadgen

import (
	"context"
	"fmt"
	"strconv"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/internal/digest"
)

// acOutputSize is the size of each output blob an action result refers to.
const acOutputSize = 128

// GetActionResult looks up action cache entries that it wrote first with
// UpdateActionResult, as Bazel does before running or uploading any action.
// Each entry refers to OutputFiles output files and a stdout blob that exist
// in the CAS, so a server that checks completeness does its real work.
type GetActionResult struct {
	Entries     int
	OutputFiles int
	Load        Load
	Generator   *BlobGenerator
}

// Name implements Scenario.
func (s *GetActionResult) Name() string { return "getactionresult" }

// acEntry is one action cache entry the scenario wrote.
type acEntry struct {
	action  digest.Digest
	outputs int
}

// Run implements Scenario.
func (s *GetActionResult) Run(ctx context.Context, c *Client) (Result, error) {
	if s.Entries < 1 {
		return Result{}, fmt.Errorf("getactionresult needs at least 1 entry, not %d", s.Entries)
	}
	entries, err := s.writeEntries(ctx, c)
	if err != nil {
		return Result{}, err
	}
	res := drive(ctx, s.Name(), s.Load, func(ctx context.Context, seq int64) (sample, error) {
		e := entries[seq%int64(len(entries))]
		t0 := time.Now()
		ar, err := c.ActionCache.GetActionResult(ctx, &repb.GetActionResultRequest{
			InstanceName:   c.Instance,
			ActionDigest:   e.action.Proto(),
			DigestFunction: c.DigestFunction,
		})
		lat := time.Since(t0)
		if status.Code(err) == codes.NotFound {
			return sample{latency: lat, miss: true}, nil // the server lost or hid an entry
		}
		if err != nil {
			return sample{}, fmt.Errorf("GetActionResult %s: %w", e.action, err)
		}
		if len(ar.GetOutputFiles()) != e.outputs {
			return sample{}, fmt.Errorf("GetActionResult %s: %d output files, wrote %d", e.action, len(ar.GetOutputFiles()), e.outputs)
		}
		return sample{latency: lat, hit: true, items: 1}, nil
	})
	res.Notes = append(res.Notes, fmt.Sprintf("%d entries, %d outputs each", len(entries), s.OutputFiles+1))
	return res, nil
}

// writeEntries uploads actions, commands and outputs, then writes one action
// result per action; none of it is timed.
func (s *GetActionResult) writeEntries(ctx context.Context, c *Client) ([]acEntry, error) {
	var blobs []Blob
	results := make([]*repb.ActionResult, s.Entries)
	entries := make([]acEntry, s.Entries)
	for i := range entries {
		// A nonce in the arguments makes every action new to the server.
		cmd, err := proto.MarshalOptions{Deterministic: true}.Marshal(&repb.Command{
			Arguments: []string{"/bin/true", "kiln-bench", newUUID()},
		})
		if err != nil {
			return nil, err
		}
		cmdBlob := NewBlob(c.DigestFunction, cmd)
		action, err := proto.MarshalOptions{Deterministic: true}.Marshal(&repb.Action{
			CommandDigest:   cmdBlob.Digest.Proto(),
			InputRootDigest: digest.Empty(c.DigestFunction).Proto(),
		})
		if err != nil {
			return nil, err
		}
		actionBlob := NewBlob(c.DigestFunction, action)
		ar := &repb.ActionResult{ExitCode: 0}
		for j := range s.OutputFiles + 1 {
			out, err := s.Generator.Next(acOutputSize)
			if err != nil {
				return nil, err
			}
			blobs = append(blobs, out)
			if j == s.OutputFiles {
				ar.StdoutDigest = out.Digest.Proto()
				continue
			}
			ar.OutputFiles = append(ar.OutputFiles, &repb.OutputFile{Path: "out/file" + strconv.Itoa(j), Digest: out.Digest.Proto()})
		}
		blobs = append(blobs, cmdBlob, actionBlob)
		results[i] = ar
		entries[i] = acEntry{action: actionBlob.Digest, outputs: s.OutputFiles}
	}
	if err := c.Upload(ctx, blobs, s.Load.concurrency()); err != nil {
		return nil, fmt.Errorf("uploading actions and outputs: %w", err)
	}
	err := forEach(ctx, len(entries), s.Load.concurrency(), func(ctx context.Context, i int) error {
		_, err := c.ActionCache.UpdateActionResult(ctx, &repb.UpdateActionResultRequest{
			InstanceName:   c.Instance,
			ActionDigest:   entries[i].action.Proto(),
			ActionResult:   results[i],
			DigestFunction: c.DigestFunction,
		})
		if err != nil {
			return fmt.Errorf("UpdateActionResult %s: %w", entries[i].action, err)
		}
		return nil
	})
	return entries, err
}
