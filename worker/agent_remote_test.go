package worker

import (
	"context"
	"net"
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
	workerpb "github.com/kilnbuild/kiln/proto/kiln/worker/v1"
)

// TestAgentAsASeparateProcess runs the agent the way `kiln worker` does:
// the CAS and the action cache are remote services reached over gRPC.
func TestAgentAsASeparateProcess(t *testing.T) {
	blobs := cas.NewMemoryStore()
	results := actioncache.NewMemoryStore()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	cas.NewCASServer(blobs, cas.CASServerOptions{}).Register(srv)
	bs := cas.NewByteStreamServer(blobs, cas.ByteStreamServerOptions{})
	bs.Register(srv)
	actioncache.NewServer(results, blobs, actioncache.ServerOptions{UpdateEnabled: true}).Register(srv)
	gw := newFakeGateway()
	workerpb.RegisterWorkerGatewayServer(srv, gw)
	go srv.Serve(lis)
	defer func() { srv.Stop(); bs.Close() }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	remote := cas.NewGRPCStore(conn, "main")
	agent, err := New(Options{
		Gateway:     workerpb.NewWorkerGatewayClient(conn),
		CAS:         remote,
		ActionCache: NewActionCacheClientWriter(repb.NewActionCacheClient(conn)),
		DataDir:     t.TempDir(),
		Concurrency: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- agent.Run(ctx) }()
	defer func() { cancel(); <-done }()

	big := make([]byte, 3<<20) // streamed both ways in chunks
	for i := range big {
		big[i] = byte(i * 7)
	}
	input := putBlob(t, blobs, big)
	ad := putProto(t, blobs, &repb.Action{
		CommandDigest: putProto(t, blobs, &repb.Command{
			Arguments:            []string{"sh", "-c", "mkdir -p gen/sub && cp big gen/sub/big && echo done"},
			EnvironmentVariables: testEnv,
			OutputPaths:          []string{"gen"},
		}).Proto(),
		InputRootDigest: putProto(t, blobs, &repb.Directory{Files: []*repb.FileNode{file("big", input, false)}}).Proto(),
	})
	gw.leases <- &workerpb.Lease{
		LeaseId: "remote-1", InstanceName: "main", DigestFunction: int32(testFn),
		ActionHash: ad.Hash, ActionSizeBytes: ad.Size,
		ExpireTime: timestamppb.New(time.Now().Add(time.Minute)), Timeout: durationpb.New(time.Minute),
	}
	var req *workerpb.CompleteRequest
	select {
	case req = <-gw.completed:
	case <-time.After(60 * time.Second):
		t.Fatal("no Complete arrived")
	}
	resp := &repb.ExecuteResponse{}
	if err := req.GetExecuteResponse().UnmarshalTo(resp); err != nil {
		t.Fatal(err)
	}
	if resp.GetStatus().GetCode() != int32(codes.OK) || len(resp.GetResult().GetOutputDirectories()) != 1 {
		t.Fatalf("response %v", resp)
	}
	if got := readBlob(t, blobs, resp.GetResult().GetStdoutDigest()); got != "done\n" {
		t.Errorf("stdout %q", got)
	}
	tree := &repb.Tree{}
	if err := proto.Unmarshal([]byte(readBlob(t, blobs, resp.GetResult().GetOutputDirectories()[0].GetTreeDigest())), tree); err != nil {
		t.Fatal(err)
	}
	if len(tree.GetChildren()) != 1 || !proto.Equal(tree.GetChildren()[0].GetFiles()[0].GetDigest(), input.Proto()) {
		t.Errorf("tree %v", tree)
	}
	got, err := results.Get(context.Background(), actioncache.Key{Instance: "main", Action: ad})
	if err != nil {
		t.Fatalf("no action cache entry through the remote service: %v", err)
	}
	if !proto.Equal(got.GetOutputDirectories()[0], resp.GetResult().GetOutputDirectories()[0]) {
		t.Errorf("cached %v", got)
	}
}
