package redisstate

import (
	"context"
	"fmt"
	"strconv"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/scheduler"
)

// Stats implements scheduler.State, in one round trip.
func (s *State) Stats(ctx context.Context) (scheduler.StateStats, error) {
	res, err := s.run(ctx, s.scripts.stats)
	if err != nil {
		return scheduler.StateStats{}, wrapErr("reading stats", err)
	}
	l, err := replyList(res)
	if err != nil || len(l) != 3 {
		return scheduler.StateStats{}, fmt.Errorf("redis state: reading stats: bad reply %v", res)
	}
	st := scheduler.StateStats{
		QueueLengths: make(map[string]int),
		Stages:       make(map[repb.ExecutionStage_Value]int),
	}
	queues, err := replyList(l[0])
	if err != nil {
		return scheduler.StateStats{}, fmt.Errorf("redis state: reading stats: %w", err)
	}
	for i := 0; i+1 < len(queues); i += 2 {
		k, _ := replyString(queues[i])
		n, _ := replyInt(queues[i+1])
		st.QueueLengths[k] = int(n)
	}
	stages, err := replyFields(l[1])
	if err != nil {
		return scheduler.StateStats{}, fmt.Errorf("redis state: reading stats: %w", err)
	}
	for k, v := range stages {
		stage, err1 := strconv.Atoi(k)
		n, err2 := strconv.Atoi(v)
		if err1 == nil && err2 == nil && n > 0 {
			st.Stages[repb.ExecutionStage_Value(stage)] = n
		}
	}
	if done, _ := replyInt(l[2]); done > 0 {
		st.Stages[repb.ExecutionStage_COMPLETED] = int(done)
	}
	return st, nil
}
