package scheduler

import (
	"fmt"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// operationProto renders op as clients see it (checklist item 25): the
// metadata is ExecuteOperationMetadata, done comes only with COMPLETED and
// then carries the ExecuteResponse; Operation.error is never set, errors
// travel in ExecuteResponse.status.
func operationProto(op *Operation) (*longrunningpb.Operation, error) {
	meta := &repb.ExecuteOperationMetadata{
		Stage:            op.Stage,
		ActionDigest:     op.Action.Proto(),
		StdoutStreamName: streamName(op.Instance, op.ID, Stdout),
		StderrStreamName: streamName(op.Instance, op.ID, Stderr),
		DigestFunction:   op.Action.Function,
	}
	if !op.QueuedAt.IsZero() {
		// What the scheduler knows of ExecutedActionMetadata so far.
		partial := &repb.ExecutedActionMetadata{QueuedTimestamp: timestamppb.New(op.QueuedAt)}
		if op.Executing() {
			partial.Worker = op.Lease.WorkerID
		}
		meta.PartialExecutionMetadata = partial
	}
	md, err := anypb.New(meta)
	if err != nil {
		return nil, fmt.Errorf("packing metadata of %s: %w", op.Name, err)
	}
	out := &longrunningpb.Operation{Name: op.Name, Metadata: md}
	if op.Done() {
		resp, err := anypb.New(op.Response)
		if err != nil {
			return nil, fmt.Errorf("packing response of %s: %w", op.Name, err)
		}
		out.Done = true
		out.Result = &longrunningpb.Operation_Response{Response: resp}
	}
	return out, nil
}
