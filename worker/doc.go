// Package worker owns the worker agent: the data plane of remote execution.
//
// An Agent pulls leases from the scheduler over the WorkerGateway protocol
// (proto/kiln/worker/v1), materializes each action's inputs from the CAS
// through a local content-addressed file cache, runs the command with a
// Runner, collects and uploads the outputs, writes the action cache and
// reports the ExecuteResponse.
//
// The package must not know how the scheduler queues or matches work, nor
// how the CAS stores blobs: it sees the scheduler only through workerpb and
// the CAS only through cas.BlobStore. Runners only run a prepared command;
// input and output handling stays out of them so that the sandbox and
// microVM runners can reuse it.
package worker
