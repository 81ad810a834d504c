package redisstate_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/kilnbuild/kiln/actioncache"
	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
	"github.com/kilnbuild/kiln/internal/redistest"
	workerpb "github.com/kilnbuild/kiln/proto/kiln/worker/v1"
	"github.com/kilnbuild/kiln/scheduler"
	"github.com/kilnbuild/kiln/scheduler/redisstate"
)

// cluster is several scheduler replicas, each with its own Redis client and
// State and its own gRPC server on 127.0.0.1, sharing one Redis (and one
// CAS and action cache, as replicas of a farm do).
type cluster struct {
	redis    *redistest.Server
	cas      *cas.MemoryStore
	replicas []*replica
}

type replica struct {
	sched  *scheduler.Scheduler
	state  *redisstate.State
	client *redis.Client
	exec   repb.ExecutionClient
	gw     workerpb.WorkerGatewayClient
}

func newCluster(tb testing.TB, n int, configure func(*scheduler.Options)) *cluster {
	tb.Helper()
	c := &cluster{redis: redistest.Start(tb), cas: cas.NewMemoryStore()}
	ac := actioncache.NewMemoryStore()
	prefix := uniquePrefix()
	for range n {
		client := c.redis.Client(tb)
		// Each replica is its own process in a farm: its own connection
		// pool, subscription and scheduler.
		state, err := redisstate.New(context.Background(), client, redisstate.Options{Prefix: prefix})
		if err != nil {
			tb.Fatalf("redisstate.New: %v", err)
		}
		opts := scheduler.Options{
			State: state, CAS: c.cas, ActionCache: ac,
			PollTimeout: 2 * time.Second, LeaseDuration: time.Minute,
		}
		if configure != nil {
			configure(&opts)
		}
		sched, err := scheduler.New(opts)
		if err != nil {
			tb.Fatalf("scheduler.New: %v", err)
		}
		srv := grpc.NewServer()
		sched.Register(srv)
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		go srv.Serve(lis)
		conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() {
			conn.Close()
			sched.Close()
			srv.Stop()
			state.Close()
		})
		c.replicas = append(c.replicas, &replica{sched: sched, state: state, client: client,
			exec: repb.NewExecutionClient(conn), gw: workerpb.NewWorkerGatewayClient(conn)})
	}
	return c
}

func (c *cluster) put(tb testing.TB, m proto.Message) digest.Digest {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	d := digest.OfBytes(repb.DigestFunction_SHA256, b)
	if err := c.cas.Put(context.Background(), d, bytes.NewReader(b)); err != nil {
		tb.Fatalf("uploading %s: %v", d, err)
	}
	return d
}

// uploadAction stores a distinct trivial action (its command names i) with
// its command and an empty input root.
func (c *cluster) uploadAction(tb testing.TB, i int) digest.Digest {
	cmd := &repb.Command{Arguments: []string{"true", fmt.Sprint(i)}, OutputPaths: []string{"out"}}
	return c.put(tb, &repb.Action{
		CommandDigest:   c.put(tb, cmd).Proto(),
		InputRootDigest: c.put(tb, &repb.Directory{}).Proto(),
	})
}

func executeRequest(d digest.Digest) *repb.ExecuteRequest {
	return &repb.ExecuteRequest{InstanceName: "main", ActionDigest: d.Proto(), DigestFunction: d.Function}
}

// executeToEnd runs Execute and returns the final operation's response.
func executeToEnd(ctx context.Context, exec repb.ExecutionClient, d digest.Digest) (*repb.ExecuteResponse, error) {
	stream, err := exec.Execute(ctx, executeRequest(d))
	if err != nil {
		return nil, err
	}
	return finalResponse(stream)
}

func finalResponse(stream grpc.ServerStreamingClient[longrunningpb.Operation]) (*repb.ExecuteResponse, error) {
	var last *longrunningpb.Operation
	for {
		op, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		last = op
	}
	if !last.GetDone() {
		return nil, fmt.Errorf("stream ended before the operation was done (last %v)", last)
	}
	resp := &repb.ExecuteResponse{}
	if err := last.GetResponse().UnmarshalTo(resp); err != nil {
		return nil, fmt.Errorf("response of %s: %w", last.GetName(), err)
	}
	return resp, nil
}

// resultFor is what the fake workers answer for a lease: the action's own
// hash as stdout, so that a client can tell its result from another's.
func resultFor(l *workerpb.Lease) *anypb.Any {
	resp, err := anypb.New(&repb.ExecuteResponse{Result: &repb.ActionResult{StdoutRaw: []byte(l.GetActionHash())}})
	if err != nil {
		panic(err)
	}
	return resp
}
