package loadgen

import (
	"context"
	"fmt"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
)

// ExecThroughput pushes many trivial actions no server has seen (each runs
// `true` on an empty input root) through the server's worker pool at once,
// as a build with a high --jobs does, and reports actions per second and the
// wall time of the whole batch. The latencies it reports include queueing.
//
// The actions and commands are uploaded before timing. A result from the
// action cache counts as an error, as in ExecLatency.
type ExecThroughput struct {
	// Actions is the number of actions run, each once.
	Actions int
	// Concurrency is the number of Execute calls in flight at once.
	Concurrency int
	Platform    []*repb.Platform_Property
}

// Name implements Scenario.
func (s *ExecThroughput) Name() string { return "exec-throughput" }

// Run implements Scenario.
func (s *ExecThroughput) Run(ctx context.Context, c *Client) (Result, error) {
	if s.Actions < 1 || s.Concurrency < 1 {
		return Result{}, fmt.Errorf("exec-throughput needs at least 1 action and a concurrency of 1, not %d and %d", s.Actions, s.Concurrency)
	}
	actions, err := c.uploadTrivialActions(ctx, s.Actions, s.Platform)
	if err != nil {
		return Result{}, err
	}
	var stages phases
	load := Load{Concurrency: min(s.Concurrency, s.Actions), Count: int64(len(actions))}
	res := drive(ctx, s.Name(), load, func(ctx context.Context, seq int64) (sample, error) {
		lat, md, err := c.executeToEnd(ctx, actions[seq])
		if err != nil {
			return sample{}, err
		}
		stages.add(md)
		return sample{latency: lat, miss: true}, nil
	})
	res.Notes = append(res.Notes,
		fmt.Sprintf("%d actions in %s wall time", res.Ops, FormatDuration(res.Elapsed)),
		stages.note())
	return res, nil
}
