package loadgen

import (
	"context"
	"fmt"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
)

// ExecLatency measures the end-to-end latency of remote execution: Execute
// of a trivial action no server has seen (it runs `true` on an empty input
// root), until the operation is done. One action at a time, so that no
// queueing behind other work is measured; the server's own worker pool may
// still be busy with work of other clients.
//
// The actions, their commands and nothing else are uploaded before timing;
// the empty input root is always present. Each action is unique, so a
// result from the action cache or a merge with another execution would be a
// wrong answer: it counts as an error.
type ExecLatency struct {
	// Actions is the number of actions run.
	Actions int
	// Platform goes on every action, for servers whose workers need one.
	Platform []*repb.Platform_Property
}

// Name implements Scenario.
func (s *ExecLatency) Name() string { return "exec-latency" }

// Run implements Scenario.
func (s *ExecLatency) Run(ctx context.Context, c *Client) (Result, error) {
	if s.Actions < 1 {
		return Result{}, fmt.Errorf("exec-latency needs at least 1 action, not %d", s.Actions)
	}
	actions, err := c.uploadTrivialActions(ctx, s.Actions, s.Platform)
	if err != nil {
		return Result{}, err
	}
	var stages phases
	res := drive(ctx, s.Name(), Load{Concurrency: 1, Count: int64(len(actions))}, func(ctx context.Context, seq int64) (sample, error) {
		lat, md, err := c.executeToEnd(ctx, actions[seq])
		if err != nil {
			return sample{}, err
		}
		stages.add(md)
		return sample{latency: lat, miss: true}, nil
	})
	res.Notes = append(res.Notes, stages.note())
	return res, nil
}
