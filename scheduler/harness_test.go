package scheduler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/kilnbuild/kiln/actioncache"
	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
	workerpb "github.com/kilnbuild/kiln/proto/kiln/worker/v1"
)

// env is a scheduler behind a real gRPC server on 127.0.0.1, with memory
// CAS and action cache. Its background sweeper never runs on its own:
// tests call the sweep steps with the time they want, so nothing depends
// on how fast the machine is.
type env struct {
	s    *Scheduler
	cas  *cas.MemoryStore
	ac   *actioncache.MemoryStore
	reg  *prometheus.Registry
	exec repb.ExecutionClient
	ops  longrunningpb.OperationsClient
	gw   workerpb.WorkerGatewayClient
	bs   bytestream.ByteStreamClient
}

func newEnv(t testing.TB, configure ...func(*Options)) *env {
	store, ac, reg := cas.NewMemoryStore(), actioncache.NewMemoryStore(), prometheus.NewRegistry()
	opts := Options{
		CAS:           store,
		ActionCache:   ac,
		Registerer:    reg,
		PollTimeout:   200 * time.Millisecond,
		LeaseDuration: time.Minute,
		SweepInterval: 24 * time.Hour,
	}
	for _, c := range configure {
		c(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := grpc.NewServer()
	s.Register(srv)
	// The ByteStream service serves the live logs, as cmd/kiln wires it.
	cas.NewByteStreamServer(store, cas.ByteStreamServerOptions{Streams: s.StreamSource()}).Register(srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		s.Close()
		srv.Stop()
	})
	return &env{s: s, cas: store, ac: ac, reg: reg,
		exec: repb.NewExecutionClient(conn), ops: longrunningpb.NewOperationsClient(conn), gw: workerpb.NewWorkerGatewayClient(conn),
		bs: bytestream.NewByteStreamClient(conn)}
}

const fn = repb.DigestFunction_SHA256

func (e *env) put(tb testing.TB, b []byte) digest.Digest {
	d := digest.OfBytes(fn, b)
	if err := e.cas.Put(context.Background(), d, bytes.NewReader(b)); err != nil {
		tb.Fatalf("put: %v", err)
	}
	return d
}

func (e *env) putProto(tb testing.TB, m proto.Message) digest.Digest {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return e.put(tb, b)
}

// spec describes an action to upload.
type spec struct {
	args        []string
	platform    []*repb.Platform_Property // on the Action
	cmdPlatform []*repb.Platform_Property // on the Command
	doNotCache  bool
	timeout     *durationpb.Duration
	root        *repb.Directory // default: one file "in.txt"
	mutateCmd   func(*repb.Command)
}

var uniq atomic.Int64

// upload stores the action described by sp (and its command and input
// root) and returns the action digest. Every call makes a distinct action
// unless args are given.
func (e *env) upload(tb testing.TB, sp spec) digest.Digest {
	if sp.args == nil {
		sp.args = []string{"run", fmt.Sprint(uniq.Add(1))}
	}
	cmd := &repb.Command{Arguments: sp.args, OutputPaths: []string{"out"}}
	if sp.cmdPlatform != nil {
		cmd.Platform = &repb.Platform{Properties: sp.cmdPlatform}
	}
	if sp.mutateCmd != nil {
		sp.mutateCmd(cmd)
	}
	root := sp.root
	if root == nil {
		file := e.put(tb, []byte("input"))
		root = &repb.Directory{Files: []*repb.FileNode{{Name: "in.txt", Digest: file.Proto()}}}
	}
	a := &repb.Action{
		CommandDigest:   e.putProto(tb, cmd).Proto(),
		InputRootDigest: e.putProto(tb, root).Proto(),
		DoNotCache:      sp.doNotCache,
		Timeout:         sp.timeout,
	}
	if sp.platform != nil {
		a.Platform = &repb.Platform{Properties: sp.platform}
	}
	return e.putProto(tb, a)
}

func prop(name, value string) *repb.Platform_Property {
	return &repb.Platform_Property{Name: name, Value: value}
}

func request(d digest.Digest) *repb.ExecuteRequest {
	return &repb.ExecuteRequest{InstanceName: "main", ActionDigest: d.Proto(), DigestFunction: d.Function}
}

// testCtx bounds a test against hangs; it asserts nothing about speed.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// collect reads a stream of operations to its end.
func collect(s grpc.ServerStreamingClient[longrunningpb.Operation]) ([]*longrunningpb.Operation, error) {
	var ops []*longrunningpb.Operation
	for {
		op, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return ops, nil
		}
		if err != nil {
			return ops, err
		}
		ops = append(ops, op)
	}
}

func metadata(t testing.TB, op *longrunningpb.Operation) *repb.ExecuteOperationMetadata {
	t.Helper()
	md := &repb.ExecuteOperationMetadata{}
	if err := op.GetMetadata().UnmarshalTo(md); err != nil {
		t.Fatalf("operation metadata is not ExecuteOperationMetadata: %v", err)
	}
	return md
}

func response(t testing.TB, op *longrunningpb.Operation) *repb.ExecuteResponse {
	t.Helper()
	if !op.GetDone() {
		t.Fatalf("operation %s is not done", op.GetName())
	}
	r := &repb.ExecuteResponse{}
	if err := op.GetResponse().UnmarshalTo(r); err != nil {
		t.Fatalf("operation response is not ExecuteResponse: %v", err)
	}
	return r
}

// fakeWorker speaks the worker protocol, as the real worker does.
type fakeWorker struct {
	e      *env
	id     string
	offers []*workerpb.Property
}

func (e *env) worker(id string, offers ...*workerpb.Property) *fakeWorker {
	return &fakeWorker{e: e, id: id, offers: offers}
}

func offer(name, value string) *workerpb.Property {
	return &workerpb.Property{Name: name, Value: value}
}

// poll polls once; nil when the poll timed out empty.
func (w *fakeWorker) poll(tb testing.TB, ctx context.Context, held ...string) *workerpb.Lease {
	resp, err := w.e.gw.Poll(ctx, &workerpb.PollRequest{
		Worker:   &workerpb.WorkerInfo{WorkerId: w.id, Platform: w.offers, Capacity: 1},
		LeaseIds: held,
	})
	if err != nil {
		tb.Fatalf("worker %s: Poll: %v", w.id, err)
	}
	return resp.GetLease()
}

// lease polls until it gets a lease.
func (w *fakeWorker) lease(tb testing.TB, ctx context.Context) *workerpb.Lease {
	for ctx.Err() == nil {
		if l := w.poll(tb, ctx); l != nil {
			return l
		}
	}
	tb.Fatalf("worker %s never got a lease", w.id)
	return nil
}

func (w *fakeWorker) complete(tb testing.TB, ctx context.Context, l *workerpb.Lease, r *repb.ExecuteResponse) {
	packed, err := anypb.New(r)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.e.gw.Complete(ctx, &workerpb.CompleteRequest{WorkerId: w.id, LeaseId: l.GetLeaseId(), ExecuteResponse: packed}); err != nil {
		tb.Fatalf("worker %s: Complete: %v", w.id, err)
	}
}

func (w *fakeWorker) heartbeat(tb testing.TB, ctx context.Context, leases ...string) *workerpb.HeartbeatResponse {
	resp, err := w.e.gw.Heartbeat(ctx, &workerpb.HeartbeatRequest{WorkerId: w.id, LeaseIds: leases})
	if err != nil {
		tb.Fatalf("worker %s: Heartbeat: %v", w.id, err)
	}
	return resp
}

// success is the response of a run that exited with code.
func success(code int32, stdout string) *repb.ExecuteResponse {
	return &repb.ExecuteResponse{Result: &repb.ActionResult{
		ExitCode:  code,
		StdoutRaw: []byte(stdout),
	}}
}

// stageOf reads the stage of an operation message.
func stageOf(t testing.TB, op *longrunningpb.Operation) repb.ExecutionStage_Value {
	return metadata(t, op).GetStage()
}

// waitStage reads from s until an operation in stage arrives.
func waitStage(t testing.TB, s grpc.ServerStreamingClient[longrunningpb.Operation], stage repb.ExecutionStage_Value) *longrunningpb.Operation {
	t.Helper()
	for {
		op, err := s.Recv()
		if err != nil {
			t.Fatalf("waiting for stage %v: %v", stage, err)
		}
		if stageOf(t, op) == stage {
			return op
		}
	}
}

// operation reads the stored operation by name.
func (e *env) operation(tb testing.TB, name string) Operation {
	id, ok := operationIDFromName(name)
	if !ok {
		tb.Fatalf("bad operation name %q", name)
	}
	op, err := e.s.state.Get(context.Background(), id)
	if err != nil {
		tb.Fatalf("Get(%s): %v", name, err)
	}
	return op
}

// queuedOperation starts an Execute of d and returns its stream once the
// operation is queued.
func (e *env) queuedOperation(t testing.TB, ctx context.Context, req *repb.ExecuteRequest) (grpc.ServerStreamingClient[longrunningpb.Operation], *longrunningpb.Operation) {
	t.Helper()
	s, err := e.exec.Execute(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return s, waitStage(t, s, repb.ExecutionStage_QUEUED)
}

// counterValue reads a counter.
func counterValue(tb testing.TB, c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		tb.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
