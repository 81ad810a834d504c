package server

import (
	"context"
	"log/slog"
	"net"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// failingCapabilities fails every call with the code it holds.
type failingCapabilities struct {
	repb.UnimplementedCapabilitiesServer
	code codes.Code
}

func (f failingCapabilities) GetCapabilities(context.Context, *repb.GetCapabilitiesRequest) (*repb.ServerCapabilities, error) {
	return nil, status.Error(f.code, "failing on purpose")
}

func retryInfoOf(t *testing.T, code codes.Code) *errdetails.RetryInfo {
	t.Helper()
	g, err := NewGRPC(GRPCOptions{Logger: slog.New(slog.DiscardHandler), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	repb.RegisterCapabilitiesServer(g.Registrar(), failingCapabilities{code: code})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx, lis) }()
	defer func() { cancel(); <-served }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	_, err = repb.NewCapabilitiesClient(conn).GetCapabilities(context.Background(), &repb.GetCapabilitiesRequest{})
	if status.Code(err) != code {
		t.Fatalf("got %v, want code %v", err, code)
	}
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri
		}
	}
	return nil
}

// Checklist item 5: a transient failure tells the client when to retry.
func TestItem05_RetryInfoOnTransientErrors(t *testing.T) {
	for _, code := range []codes.Code{codes.Unavailable, codes.ResourceExhausted} {
		ri := retryInfoOf(t, code)
		if ri == nil || ri.GetRetryDelay().AsDuration() != retryDelay {
			t.Errorf("%v: RetryInfo = %v, want a delay of %v", code, ri, retryDelay)
		}
	}
	// A client mistake will fail the same way again: no retry advice.
	if ri := retryInfoOf(t, codes.InvalidArgument); ri != nil {
		t.Errorf("INVALID_ARGUMENT carries RetryInfo %v", ri)
	}
}
