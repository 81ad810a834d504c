package server

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/prometheus/client_golang/prometheus"
	bspb "google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// syncBuffer is a bytes.Buffer that handlers on other goroutines may log to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// panickyCapabilities panics on every call.
type panickyCapabilities struct {
	repb.UnimplementedCapabilitiesServer
}

func (panickyCapabilities) GetCapabilities(context.Context, *repb.GetCapabilitiesRequest) (*repb.ServerCapabilities, error) {
	panic("boom")
}

// streams is a ByteStream whose Read panics and whose Write waits for a
// client that never finishes its upload, as a slow client's would.
type streams struct {
	*bspb.UnimplementedByteStreamServer
	writing chan struct{}
}

func (streams) Read(*bspb.ReadRequest, bspb.ByteStream_ReadServer) error { panic("stream boom") }

func (s streams) Write(stream bspb.ByteStream_WriteServer) error {
	close(s.writing)
	for {
		if _, err := stream.Recv(); err != nil {
			return err
		}
	}
}

// stuck is a ByteStream whose Write ignores cancellation until released,
// like a handler stuck in a syscall.
type stuck struct {
	*bspb.UnimplementedByteStreamServer
	writing chan struct{}
	release chan struct{}
}

func (s stuck) Write(bspb.ByteStream_WriteServer) error {
	close(s.writing)
	<-s.release
	return nil
}

type testServer struct {
	conn    *grpc.ClientConn
	reg     *prometheus.Registry
	logs    *syncBuffer
	streams streams
	cancel  context.CancelFunc
	served  chan error
}

func startServer(t *testing.T, opts GRPCOptions) *testServer {
	t.Helper()
	ts := &testServer{
		reg:     prometheus.NewRegistry(),
		logs:    &syncBuffer{},
		streams: streams{writing: make(chan struct{})},
		served:  make(chan error, 1),
	}
	opts.Logger = slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Registerer = ts.reg
	g, err := NewGRPC(opts)
	if err != nil {
		t.Fatal(err)
	}
	repb.RegisterCapabilitiesServer(g.Registrar(), &panickyCapabilities{})
	bspb.RegisterByteStreamServer(g.Registrar(), ts.streams)

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	go func() { ts.served <- g.Serve(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		<-ts.served
	})
	ts.conn, err = grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.conn.Close() })
	return ts
}

func TestPanicBecomesInternalAndServerLivesOn(t *testing.T) {
	ts := startServer(t, GRPCOptions{})
	ctx := context.Background()
	caps := repb.NewCapabilitiesClient(ts.conn)
	for i := 0; i < 2; i++ { // the second call proves the process survived the first
		_, err := caps.GetCapabilities(ctx, &repb.GetCapabilitiesRequest{})
		if status.Code(err) != codes.Internal {
			t.Fatalf("call %d: got %v, want INTERNAL", i, err)
		}
		if strings.Contains(err.Error(), "goroutine") {
			t.Errorf("the client got a stack trace: %v", err)
		}
	}
	stream, err := bspb.NewByteStreamClient(ts.conn).Read(ctx, &bspb.ReadRequest{ResourceName: "blobs/x/1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.Internal {
		t.Fatalf("panicking stream: got %v, want INTERNAL", err)
	}

	logs := ts.logs.String()
	for _, want := range []string{"panic in gRPC handler", "boom", "stream boom", "level=ERROR"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	// The stack names the panicking handler, which lives in this file.
	if !strings.Contains(logs, "grpc_test.go") {
		t.Errorf("logged panic has no stack pointing at the handler:\n%s", logs)
	}
}

func TestMetricsCountCallsByCode(t *testing.T) {
	ts := startServer(t, GRPCOptions{})
	caps := repb.NewCapabilitiesClient(ts.conn)
	caps.GetCapabilities(context.Background(), &repb.GetCapabilitiesRequest{})
	caps.GetCapabilities(context.Background(), &repb.GetCapabilitiesRequest{})

	handled, err := ts.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var found, histogram bool
	for _, mf := range handled {
		if mf.GetName() == "grpc_server_handling_seconds" {
			histogram = true
		}
		if mf.GetName() != "grpc_server_handled_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["grpc_method"] == "GetCapabilities" && labels["grpc_code"] == "Internal" {
				found = true
				if got := m.GetCounter().GetValue(); got != 2 {
					t.Errorf("GetCapabilities Internal count = %v, want 2", got)
				}
			}
		}
	}
	if !found {
		t.Error("no grpc_server_handled_total for GetCapabilities with code Internal")
	}
	if !histogram {
		t.Error("no grpc_server_handling_seconds latency histogram")
	}
}

func TestFailedCallsAreLoggedAtTheirLevel(t *testing.T) {
	ts := startServer(t, GRPCOptions{})
	repb.NewCapabilitiesClient(ts.conn).GetCapabilities(context.Background(), &repb.GetCapabilitiesRequest{})
	// An unimplemented method is the client's business: info, not error.
	bspb.NewByteStreamClient(ts.conn).QueryWriteStatus(context.Background(), &bspb.QueryWriteStatusRequest{})

	var internal, unimplemented string
	for _, line := range strings.Split(ts.logs.String(), "\n") {
		if !strings.Contains(line, "finished call") {
			continue
		}
		switch {
		case strings.Contains(line, "grpc.code=Internal"):
			internal = line
		case strings.Contains(line, "grpc.code=Unimplemented"):
			unimplemented = line
		}
	}
	if !strings.Contains(internal, "level=ERROR") || !strings.Contains(internal, "GetCapabilities") {
		t.Errorf("INTERNAL call logged as %q, want an ERROR line naming the method", internal)
	}
	if !strings.Contains(unimplemented, "level=INFO") {
		t.Errorf("UNIMPLEMENTED call logged as %q, want an INFO line", unimplemented)
	}
}

func TestHealthServiceAnswers(t *testing.T) {
	ts := startServer(t, GRPCOptions{})
	resp, err := healthpb.NewHealthClient(ts.conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health = %v, want SERVING", resp.GetStatus())
	}
}

func TestServeReturnsAfterGraceEvenIfACallHangs(t *testing.T) {
	ts := startServer(t, GRPCOptions{ShutdownGrace: 1})
	stream, err := bspb.NewByteStreamClient(ts.conn).Write(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&bspb.WriteRequest{ResourceName: "x"}); err != nil {
		t.Fatal(err)
	}
	<-ts.streams.writing

	ts.cancel()
	// GracefulStop alone would wait for the unfinished upload forever; the
	// grace bound must cut it off. The test's own timeout catches a hang.
	if err := <-ts.served; err != nil {
		t.Errorf("Serve after cancel = %v, want nil", err)
	}
	ts.served <- nil // for the cleanup
	if _, err := stream.CloseAndRecv(); status.Code(err) == codes.OK {
		t.Error("the cut-off upload reported success")
	}
}

func TestServeReturnsEvenIfAHandlerIgnoresCancellation(t *testing.T) {
	logs := &syncBuffer{}
	g, err := NewGRPC(GRPCOptions{
		Logger:        slog.New(slog.NewTextHandler(logs, nil)),
		Registerer:    prometheus.NewRegistry(),
		ShutdownGrace: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := stuck{writing: make(chan struct{}), release: make(chan struct{})}
	defer close(h.release)
	bspb.RegisterByteStreamServer(g.Registrar(), h)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx, lis) }()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := bspb.NewByteStreamClient(conn).Write(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&bspb.WriteRequest{ResourceName: "x"}); err != nil {
		t.Fatal(err)
	}
	<-h.writing
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve after cancel = %v, want nil", err)
	}
	if !strings.Contains(logs.String(), "ignored cancellation") {
		t.Errorf("abandoning a stuck call was not logged:\n%s", logs)
	}
}

func TestLargeBatchFitsInOneMessage(t *testing.T) {
	if got := MaxRecvMsgSizeForBatch(64 << 20); got < 64<<20+MessageOverhead {
		t.Errorf("MaxRecvMsgSizeForBatch(64MiB) = %d, too small for the batch", got)
	}
	if got := MaxRecvMsgSizeForBatch(1); got != DefaultMaxRecvMsgSize {
		t.Errorf("MaxRecvMsgSizeForBatch(1) = %d, want the default %d", got, DefaultMaxRecvMsgSize)
	}
}

func TestNewGRPCNeedsLoggerAndRegisterer(t *testing.T) {
	if _, err := NewGRPC(GRPCOptions{}); err == nil {
		t.Error("NewGRPC without a logger and registerer succeeded")
	}
}
