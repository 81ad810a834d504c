package worker

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/kilnbuild/kiln/actioncache"
	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
	workerpb "github.com/kilnbuild/kiln/proto/kiln/worker/v1"
)

// fakeGateway is a scheduler reduced to what a worker sees: it hands out
// the leases queued in it, one per Poll, and records everything else.
type fakeGateway struct {
	workerpb.UnimplementedWorkerGatewayServer
	leases    chan *workerpb.Lease
	polls     chan *workerpb.PollRequest
	completed chan *workerpb.CompleteRequest
	beats     chan *workerpb.HeartbeatRequest

	mu      sync.Mutex
	abandon map[string]bool
	chunks  []*workerpb.OutputChunk
}

func newFakeGateway() *fakeGateway {
	return &fakeGateway{
		leases:    make(chan *workerpb.Lease, 10),
		polls:     make(chan *workerpb.PollRequest, 100),
		completed: make(chan *workerpb.CompleteRequest, 10),
		beats:     make(chan *workerpb.HeartbeatRequest, 1000),
		abandon:   map[string]bool{},
	}
}

func (g *fakeGateway) Poll(ctx context.Context, req *workerpb.PollRequest) (*workerpb.PollResponse, error) {
	select {
	case g.polls <- req:
	default:
	}
	select {
	case l := <-g.leases:
		return &workerpb.PollResponse{Lease: l}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (g *fakeGateway) Heartbeat(ctx context.Context, req *workerpb.HeartbeatRequest) (*workerpb.HeartbeatResponse, error) {
	select {
	case g.beats <- req:
	default:
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	resp := &workerpb.HeartbeatResponse{ExpireTime: timestamppb.New(time.Now().Add(time.Second))}
	for _, id := range req.GetLeaseIds() {
		if g.abandon[id] {
			resp.AbandonLeaseIds = append(resp.AbandonLeaseIds, id)
		}
	}
	return resp, nil
}

func (g *fakeGateway) PublishOutput(stream workerpb.WorkerGateway_PublishOutputServer) error {
	for {
		c, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&workerpb.PublishOutputResponse{})
		}
		if err != nil {
			return err
		}
		g.mu.Lock()
		g.chunks = append(g.chunks, c)
		g.mu.Unlock()
	}
}

func (g *fakeGateway) Complete(ctx context.Context, req *workerpb.CompleteRequest) (*workerpb.CompleteResponse, error) {
	g.completed <- req
	return &workerpb.CompleteResponse{}, nil
}

func (g *fakeGateway) liveOutput(stream workerpb.OutputChunk_Stream) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var b strings.Builder
	for _, c := range g.chunks {
		if c.GetStream() == stream {
			b.Write(c.GetData())
		}
	}
	return b.String()
}

// serveGateway serves g on lis and returns a client connection to it.
func serveGateway(t *testing.T, g *fakeGateway, lis net.Listener) workerpb.WorkerGatewayClient {
	t.Helper()
	srv := grpc.NewServer()
	workerpb.RegisterWorkerGatewayServer(srv, g)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return workerpb.NewWorkerGatewayClient(conn)
}

type agentFixture struct {
	t       *testing.T
	gw      *fakeGateway
	cas     *cas.MemoryStore
	ac      *actioncache.MemoryStore
	dataDir string
	agent   *Agent
	cancel  context.CancelFunc
	done    chan error
}

func startAgent(t *testing.T, concurrency int) *agentFixture {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &agentFixture{t: t, gw: newFakeGateway(), cas: cas.NewMemoryStore(), ac: actioncache.NewMemoryStore(), dataDir: t.TempDir()}
	client := serveGateway(t, f.gw, lis)
	f.agent, err = New(Options{
		Gateway: client, CAS: f.cas, ActionCache: f.ac, DataDir: f.dataDir,
		Concurrency: concurrency, WorkerID: "test-worker",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	f.done = make(chan error, 1)
	go func() { f.done <- f.agent.Run(ctx) }()
	t.Cleanup(f.stop)
	return f
}

func (f *agentFixture) stop() {
	f.cancel()
	if err := <-f.done; err != nil {
		f.t.Errorf("Run: %v", err)
	}
	f.done <- nil // stop is idempotent
}

// submit stores an action running args over the given input root and
// queues a lease for it.
func (f *agentFixture) submit(id string, root *repb.Directory, cmd *repb.Command, tweak func(*workerpb.Lease)) digest.Digest {
	t := f.t
	if root == nil {
		root = &repb.Directory{}
	}
	ad := putProto(t, f.cas, &repb.Action{
		CommandDigest:   putProto(t, f.cas, cmd).Proto(),
		InputRootDigest: putProto(t, f.cas, root).Proto(),
	})
	l := &workerpb.Lease{
		LeaseId: id, OperationName: "operations/" + id, InstanceName: "main",
		DigestFunction: int32(testFn), ActionHash: ad.Hash, ActionSizeBytes: ad.Size,
		ExpireTime: timestamppb.New(time.Now().Add(time.Minute)),
		Timeout:    durationpb.New(time.Minute),
		QueuedTime: timestamppb.New(time.Now().Add(-time.Second)),
		Attempt:    1,
	}
	if tweak != nil {
		tweak(l)
	}
	f.gw.leases <- l
	return ad
}

func (f *agentFixture) completion() (*workerpb.CompleteRequest, *repb.ExecuteResponse) {
	f.t.Helper()
	select {
	case req := <-f.gw.completed:
		resp := &repb.ExecuteResponse{}
		if err := req.GetExecuteResponse().UnmarshalTo(resp); err != nil {
			f.t.Fatal(err)
		}
		return req, resp
	case <-time.After(60 * time.Second):
		f.t.Fatal("no Complete arrived")
		return nil, nil
	}
}

func (f *agentFixture) acEntry(ad digest.Digest) *repb.ActionResult {
	r, err := f.ac.Get(context.Background(), actioncache.Key{Instance: "main", Action: ad})
	if errors.Is(err, actioncache.ErrNotFound) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *agentFixture) assertNoActionDirs() {
	f.t.Helper()
	entries, err := os.ReadDir(filepath.Join(f.dataDir, "actions"))
	if err != nil {
		f.t.Fatal(err)
	}
	if len(entries) != 0 {
		f.t.Errorf("action directories left behind: %v", entries)
	}
}

var testEnv = []*repb.Command_EnvironmentVariable{{Name: "PATH", Value: "/usr/bin:/bin"}}

func TestAgentRunsAnActionEndToEnd(t *testing.T) {
	f := startAgent(t, 2)
	input := putBlob(t, f.cas, []byte("input data"))
	ad := f.submit("lease-1", &repb.Directory{Files: []*repb.FileNode{file("in.txt", input, false)}}, &repb.Command{
		Arguments:            []string{"sh", "-c", "echo hello; echo oops >&2; cp in.txt out/copy.txt; mkdir out/d; echo x > out/d/x"},
		EnvironmentVariables: testEnv,
		OutputPaths:          []string{"out/copy.txt", "out/d"},
	}, nil)

	req, resp := f.completion()
	if req.GetLeaseId() != "lease-1" || req.GetWorkerId() != "test-worker" {
		t.Errorf("completed %q by %q", req.GetLeaseId(), req.GetWorkerId())
	}
	if resp.GetStatus().GetCode() != int32(codes.OK) {
		t.Fatalf("status %v", resp.GetStatus())
	}
	r := resp.GetResult()
	if r.GetExitCode() != 0 || len(r.GetOutputFiles()) != 1 || len(r.GetOutputDirectories()) != 1 {
		t.Fatalf("result %v", r)
	}
	if got := readBlob(t, f.cas, r.GetOutputFiles()[0].GetDigest()); got != "input data" {
		t.Errorf("out/copy.txt = %q", got)
	}
	readBlob(t, f.cas, r.GetOutputDirectories()[0].GetTreeDigest())
	if got := readBlob(t, f.cas, r.GetStdoutDigest()); got != "hello\n" {
		t.Errorf("stdout %q", got)
	}
	if got := readBlob(t, f.cas, r.GetStderrDigest()); got != "oops\n" {
		t.Errorf("stderr %q", got)
	}
	if got := f.gw.liveOutput(workerpb.OutputChunk_STDOUT); got != "hello\n" {
		t.Errorf("live stdout %q", got)
	}

	md := r.GetExecutionMetadata()
	if md.GetWorker() != "test-worker" || md.GetVirtualExecutionDuration() == nil {
		t.Errorf("metadata %v", md)
	}
	stamps := []*timestamppb.Timestamp{
		md.GetQueuedTimestamp(), md.GetWorkerStartTimestamp(), md.GetInputFetchStartTimestamp(),
		md.GetInputFetchCompletedTimestamp(), md.GetExecutionStartTimestamp(), md.GetExecutionCompletedTimestamp(),
		md.GetOutputUploadStartTimestamp(), md.GetOutputUploadCompletedTimestamp(), md.GetWorkerCompletedTimestamp(),
	}
	for i, s := range stamps {
		if s == nil {
			t.Fatalf("timestamp %d unset in %v", i, md)
		}
		if i > 0 && s.AsTime().Before(stamps[i-1].AsTime()) {
			t.Errorf("timestamp %d (%v) before timestamp %d (%v)", i, s.AsTime(), i-1, stamps[i-1].AsTime())
		}
	}

	if got := f.acEntry(ad); !proto.Equal(got, r) {
		t.Errorf("action cache holds %v, want the result", got)
	}
	f.assertNoActionDirs()

	poll := <-f.gw.polls
	info := poll.GetWorker()
	if info.GetWorkerId() != "test-worker" || info.GetCapacity() != 2 || len(info.GetPlatform()) != 2 {
		t.Errorf("worker info %v", info)
	}
}

func TestAgentDoesNotCacheFailures(t *testing.T) {
	f := startAgent(t, 1)
	failing := f.submit("fails", nil, &repb.Command{Arguments: []string{"sh", "-c", "exit 3"}, EnvironmentVariables: testEnv}, nil)
	_, resp := f.completion()
	if resp.GetStatus().GetCode() != int32(codes.OK) || resp.GetResult().GetExitCode() != 3 {
		t.Errorf("response %v", resp)
	}
	if f.acEntry(failing) != nil {
		t.Error("a failing action was cached")
	}

	uncached := f.submit("no-cache", nil, &repb.Command{Arguments: []string{"true"}, EnvironmentVariables: testEnv},
		func(l *workerpb.Lease) { l.DoNotCache = true })
	_, resp = f.completion()
	if resp.GetStatus().GetCode() != int32(codes.OK) || resp.GetResult().GetExitCode() != 0 {
		t.Errorf("response %v", resp)
	}
	if f.acEntry(uncached) != nil {
		t.Error("a do_not_cache action was cached")
	}

	notFound := f.submit("bad-command", nil, &repb.Command{Arguments: []string{"no-such-tool-xyz"}, EnvironmentVariables: testEnv}, nil)
	_, resp = f.completion()
	if resp.GetStatus().GetCode() != int32(codes.InvalidArgument) || !strings.Contains(resp.GetStatus().GetMessage(), "no-such-tool-xyz") {
		t.Errorf("unknown command: status %v", resp.GetStatus())
	}
	if f.acEntry(notFound) != nil {
		t.Error("a command that could not start was cached")
	}
}

func TestAgentTimeoutKeepsPartialLogs(t *testing.T) {
	f := startAgent(t, 1)
	ad := f.submit("slow", nil, &repb.Command{
		Arguments: []string{"sh", "-c", "echo partial; exec sleep 1000"}, EnvironmentVariables: testEnv,
		OutputPaths: []string{"never"},
	}, func(l *workerpb.Lease) { l.Timeout = durationpb.New(300 * time.Millisecond) })
	_, resp := f.completion()
	if resp.GetStatus().GetCode() != int32(codes.DeadlineExceeded) {
		t.Fatalf("status %v, want DEADLINE_EXCEEDED", resp.GetStatus())
	}
	if got := readBlob(t, f.cas, resp.GetResult().GetStdoutDigest()); got != "partial\n" {
		t.Errorf("partial stdout %q", got)
	}
	if resp.GetResult().GetExitCode() != 137 {
		t.Errorf("exit code %d, want 137 (SIGKILL)", resp.GetResult().GetExitCode())
	}
	if f.acEntry(ad) != nil {
		t.Error("a timed-out action was cached")
	}
	f.assertNoActionDirs()
}

func TestAgentReportsMissingInputs(t *testing.T) {
	f := startAgent(t, 1)
	gone := digest.OfBytes(testFn, []byte("never uploaded"))
	f.submit("missing", &repb.Directory{Files: []*repb.FileNode{file("gone", gone, false)}},
		&repb.Command{Arguments: []string{"true"}}, nil)
	_, resp := f.completion()
	assertMissingStatus(t, resp.GetStatus(), gone)
	f.assertNoActionDirs()
}

func TestAgentAbandonsWhenTheSchedulerSaysSo(t *testing.T) {
	f := startAgent(t, 1)
	pidFile := filepath.Join(t.TempDir(), "pid")
	f.gw.mu.Lock()
	f.gw.abandon["taken-back"] = true
	f.gw.mu.Unlock()
	f.submit("taken-back", nil, &repb.Command{
		Arguments: []string{"sh", "-c", "echo $$ > " + pidFile + "; exec sleep 1000"}, EnvironmentVariables: testEnv,
	}, func(l *workerpb.Lease) { l.ExpireTime = timestamppb.New(time.Now().Add(600 * time.Millisecond)) })

	<-f.gw.polls // the poll that got the lease
	select {
	case <-f.gw.polls: // with one slot, the next poll means the action let go
	case <-time.After(60 * time.Second):
		t.Fatal("the abandoned action never released its slot")
	}
	select {
	case req := <-f.gw.completed:
		t.Fatalf("an abandoned lease was completed: %v", req)
	default:
	}
	waitGone(t, readPid(t, pidFile))
	f.assertNoActionDirs()
}

func TestAgentShutdownKillsRunningActions(t *testing.T) {
	f := startAgent(t, 1)
	pidFile := filepath.Join(t.TempDir(), "pid")
	f.submit("long", nil, &repb.Command{
		Arguments: []string{"sh", "-c", "echo $$ > " + pidFile + ".tmp; mv " + pidFile + ".tmp " + pidFile + "; exec sleep 1000"}, EnvironmentVariables: testEnv,
	}, nil)
	for {
		if _, err := os.Stat(pidFile); err == nil {
			break
		}
		waitABit()
	}
	f.stop()
	waitGone(t, readPid(t, pidFile))
	select {
	case req := <-f.gw.completed:
		t.Errorf("completed on shutdown: %v", req)
	default:
	}
	f.assertNoActionDirs()
}

func TestAgentReconnectsToALateScheduler(t *testing.T) {
	// Reserve a port, then leave it closed while the agent starts.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	agent, err := New(Options{
		Gateway: workerpb.NewWorkerGatewayClient(conn), CAS: cas.NewMemoryStore(),
		ActionCache: actioncache.NewMemoryStore(), DataDir: t.TempDir(), Concurrency: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- agent.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitABit()
	lis, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s was taken meanwhile: %v", addr, err)
	}
	g := newFakeGateway()
	srv := grpc.NewServer()
	workerpb.RegisterWorkerGatewayServer(srv, g)
	go srv.Serve(lis)
	defer srv.Stop()
	select {
	case req := <-g.polls:
		if req.GetWorker().GetWorkerId() != agent.WorkerID() {
			t.Errorf("poll from %q", req.GetWorker().GetWorkerId())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the agent never reached the scheduler once it came up")
	}
}
