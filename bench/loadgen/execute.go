package loadgen

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/kilnbuild/kiln/internal/digest"
)

// benchActionEnv is the environment variable that makes every trivial
// action unique, so that no server can answer one from its action cache or
// merge it with another in flight.
const benchActionEnv = "KILN_BENCH_ACTION"

// uploadConcurrency is the number of batch uploads in flight while the
// execution scenarios store their actions, before timing.
const uploadConcurrency = 4

// uploadTrivialActions uploads n new actions that each run `true` with an
// empty input root and no outputs, and returns their digests. Only the
// environment tells them apart. The empty input root needs no upload: it is
// the empty blob, which every server holds.
func (c *Client) uploadTrivialActions(ctx context.Context, n int, platform []*repb.Platform_Property) ([]digest.Digest, error) {
	run := newUUID()
	var plat *repb.Platform
	if len(platform) > 0 {
		plat = &repb.Platform{Properties: sortedProperties(platform)}
	}
	marshal := proto.MarshalOptions{Deterministic: true}
	blobs := make([]Blob, 0, 2*n)
	actions := make([]digest.Digest, n)
	for i := range actions {
		cmd, err := marshal.Marshal(&repb.Command{
			Arguments: []string{"true"},
			// Sorted by name, as REAPI asks.
			EnvironmentVariables: []*repb.Command_EnvironmentVariable{
				{Name: benchActionEnv, Value: run + "-" + strconv.Itoa(i)},
				{Name: "PATH", Value: "/bin:/usr/bin"},
			},
			Platform: plat, // for servers older than v2.2, which read it here
		})
		if err != nil {
			return nil, err
		}
		cmdBlob := NewBlob(c.DigestFunction, cmd)
		action, err := marshal.Marshal(&repb.Action{
			CommandDigest:   cmdBlob.Digest.Proto(),
			InputRootDigest: digest.Empty(c.DigestFunction).Proto(),
			Platform:        plat,
		})
		if err != nil {
			return nil, err
		}
		actionBlob := NewBlob(c.DigestFunction, action)
		blobs = append(blobs, cmdBlob, actionBlob)
		actions[i] = actionBlob.Digest
	}
	if err := c.Upload(ctx, blobs, uploadConcurrency); err != nil {
		return nil, fmt.Errorf("uploading actions and commands: %w", err)
	}
	return actions, nil
}

func sortedProperties(props []*repb.Platform_Property) []*repb.Platform_Property {
	out := slices.Clone(props)
	slices.SortFunc(out, func(a, b *repb.Platform_Property) int {
		return cmp.Or(cmp.Compare(a.GetName(), b.GetName()), cmp.Compare(a.GetValue(), b.GetValue()))
	})
	return out
}

// executeToEnd calls Execute for action and reads the operation stream until
// the operation is done. It fails unless the action ran (no cache hit: the
// scenarios only execute actions no server has seen) and exited 0. It
// returns the time until the final operation arrived and what the server
// says about the run.
func (c *Client) executeToEnd(ctx context.Context, action digest.Digest) (time.Duration, *repb.ExecutedActionMetadata, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t0 := time.Now()
	stream, err := c.Execution.Execute(ctx, &repb.ExecuteRequest{
		InstanceName:   c.Instance,
		ActionDigest:   action.Proto(),
		DigestFunction: c.DigestFunction,
	})
	if err != nil {
		return 0, nil, fmt.Errorf("Execute %s: %w", action, err)
	}
	for {
		op, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return 0, nil, fmt.Errorf("Execute %s: the stream ended before the operation was done", action)
		}
		if err != nil {
			return 0, nil, fmt.Errorf("Execute %s: %w", action, err)
		}
		if !op.GetDone() {
			continue
		}
		lat := time.Since(t0)
		if e := op.GetError(); e != nil {
			return 0, nil, fmt.Errorf("Execute %s: operation failed: %s: %s", action, code.Code(e.GetCode()), e.GetMessage())
		}
		resp := &repb.ExecuteResponse{}
		if err := op.GetResponse().UnmarshalTo(resp); err != nil {
			return 0, nil, fmt.Errorf("Execute %s: the response is not an ExecuteResponse: %w", action, err)
		}
		if st := resp.GetStatus(); st.GetCode() != int32(code.Code_OK) {
			return 0, nil, fmt.Errorf("Execute %s: %s: %s", action, code.Code(st.GetCode()), st.GetMessage())
		}
		if resp.GetCachedResult() {
			return 0, nil, fmt.Errorf("Execute %s: answered from the action cache, but no one ran this action before", action)
		}
		if ec := resp.GetResult().GetExitCode(); ec != 0 {
			return 0, nil, fmt.Errorf("Execute %s: `true` exited with code %d", action, ec)
		}
		// The stream ends after the final operation; reading to its end
		// rather than cancelling spares the server a cancelled call.
		if _, err := stream.Recv(); err == nil {
			return 0, nil, fmt.Errorf("Execute %s: the stream went on after the operation was done", action)
		}
		return lat, resp.GetResult().GetExecutionMetadata(), nil
	}
}

// phases gathers, per executed action, how long the server says each stage
// took, to tell queueing and worker time from the rest of the latency.
type phases struct {
	mu                                     sync.Mutex
	queued, worker, fetch, execute, upload []time.Duration
	n                                      int
}

// add records the stages md carries; servers that leave timestamps out
// add nothing.
func (p *phases) add(md *repb.ExecutedActionMetadata) {
	if md == nil {
		return
	}
	span := func(from, to *timestamppb.Timestamp) (time.Duration, bool) {
		if from == nil || to == nil {
			return 0, false
		}
		return to.AsTime().Sub(from.AsTime()), true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if d, ok := span(md.GetQueuedTimestamp(), md.GetWorkerStartTimestamp()); ok {
		p.queued = append(p.queued, d)
	}
	if d, ok := span(md.GetWorkerStartTimestamp(), md.GetWorkerCompletedTimestamp()); ok {
		p.worker = append(p.worker, d)
	}
	if d, ok := span(md.GetInputFetchStartTimestamp(), md.GetInputFetchCompletedTimestamp()); ok {
		p.fetch = append(p.fetch, d)
	}
	if d, ok := span(md.GetExecutionStartTimestamp(), md.GetExecutionCompletedTimestamp()); ok {
		p.execute = append(p.execute, d)
	}
	if d, ok := span(md.GetOutputUploadStartTimestamp(), md.GetOutputUploadCompletedTimestamp()); ok {
		p.upload = append(p.upload, d)
	}
}

// note summarises the stages as medians, for the report.
func (p *phases) note() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == 0 {
		return "the server reported no execution metadata"
	}
	median := func(ds []time.Duration) string {
		if len(ds) == 0 {
			return "-"
		}
		return FormatDuration(Summarize(ds).P50)
	}
	return fmt.Sprintf("server-side medians: queued→worker start %s, on the worker %s (input fetch %s, execution %s, output upload %s)",
		median(p.queued), median(p.worker), median(p.fetch), median(p.execute), median(p.upload))
}
