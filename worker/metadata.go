package worker

import (
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// timeline records when each stage of one action started and ended, for
// ExecutedActionMetadata (checklist item 40). Zero times are left unset.
type timeline struct {
	queued                  time.Time
	workerStart, workerDone time.Time
	fetchStart, fetchDone   time.Time
	execStart, execDone     time.Time
	uploadStart, uploadDone time.Time
	virtualExecution        time.Duration
}

func (t *timeline) metadata(worker string) *repb.ExecutedActionMetadata {
	md := &repb.ExecutedActionMetadata{
		Worker:                         worker,
		QueuedTimestamp:                stamp(t.queued),
		WorkerStartTimestamp:           stamp(t.workerStart),
		WorkerCompletedTimestamp:       stamp(t.workerDone),
		InputFetchStartTimestamp:       stamp(t.fetchStart),
		InputFetchCompletedTimestamp:   stamp(t.fetchDone),
		ExecutionStartTimestamp:        stamp(t.execStart),
		ExecutionCompletedTimestamp:    stamp(t.execDone),
		OutputUploadStartTimestamp:     stamp(t.uploadStart),
		OutputUploadCompletedTimestamp: stamp(t.uploadDone),
	}
	if !t.execStart.IsZero() {
		md.VirtualExecutionDuration = durationpb.New(t.virtualExecution)
	}
	return md
}

func stamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
