package grpcmem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"

	bspb "google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// patternStream is a ByteStream server whose resources are pattern bytes:
// resource "N/SEED" is pattern(N, SEED). Write checks every byte it gets.
type patternStream struct {
	bspb.UnimplementedByteStreamServer
}

func parseResource(name string) (int, byte, error) {
	n, seed, _ := strings.Cut(name, "/")
	size, err := strconv.Atoi(n)
	if err != nil {
		return 0, 0, status.Errorf(codes.InvalidArgument, "resource %q", name)
	}
	s, _ := strconv.Atoi(seed)
	return size, byte(s), nil
}

func (*patternStream) Read(req *bspb.ReadRequest, stream bspb.ByteStream_ReadServer) error {
	size, seed, err := parseResource(req.GetResourceName())
	if err != nil {
		return err
	}
	data := pattern(size, seed)
	chunk := int(req.GetReadLimit()) // the chunk size, for this test
	for len(data) > 0 {
		n := min(chunk, len(data))
		if err := stream.Send(&bspb.ReadResponse{Data: data[:n]}); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

func (*patternStream) Write(stream bspb.ByteStream_WriteServer) error {
	var got []byte
	var name string
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if name == "" {
			name = req.GetResourceName()
		}
		got = append(got, req.GetData()...)
	}
	size, seed, err := parseResource(name)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, pattern(size, seed)) {
		return status.Errorf(codes.DataLoss, "received %d bytes that differ from the %d sent", len(got), size)
	}
	return stream.SendAndClose(&bspb.WriteResponse{CommittedSize: int64(len(got))})
}

// TestRealTrafficThroughPoisonedPools sends and receives messages of many
// sizes (below, at and above HTTP/2 frame and size-class boundaries) with
// the options of this package on both sides, over pools that hand out
// garbage-filled buffers. Any gRPC path that read a byte it did not write
// would corrupt a message and fail the comparison.
func TestRealTrafficThroughPoisonedPools(t *testing.T) {
	serverPool := &poisonedPool{pool: NewPool()}
	clientPool := &poisonedPool{pool: NewPool()}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(append(serverOptions(serverPool), grpc.MaxRecvMsgSize(16<<20))...)
	bspb.RegisterByteStreamServer(srv, &patternStream{})
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), append(dialOptions(clientPool),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := bspb.NewByteStreamClient(conn)
	ctx := context.Background()

	sizes := []int{0, 1, 1023, 1024, 16383, 16384, 16385, 100_000, 1<<20 - 3, 1 << 20, 1<<20 + 5, 5<<20 + 11}
	chunks := []int{1000, 16384, 1 << 20, 3<<20 + 1}
	for i, size := range sizes {
		for _, chunk := range chunks {
			name := fmt.Sprintf("%d/%d", size, i)
			t.Run(fmt.Sprintf("read/%s/chunk%d", name, chunk), func(t *testing.T) {
				stream, err := client.Read(ctx, &bspb.ReadRequest{ResourceName: name, ReadLimit: int64(chunk)})
				if err != nil {
					t.Fatal(err)
				}
				var got []byte
				for {
					resp, err := stream.Recv()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, resp.GetData()...)
				}
				if !bytes.Equal(got, pattern(size, byte(i))) {
					t.Errorf("read %d bytes that differ from the %d served", len(got), size)
				}
			})
			t.Run(fmt.Sprintf("write/%s/chunk%d", name, chunk), func(t *testing.T) {
				stream, err := client.Write(ctx)
				if err != nil {
					t.Fatal(err)
				}
				data := pattern(size, byte(i))
				for first := true; first || len(data) > 0; first = false {
					n := min(chunk, len(data))
					if err := stream.Send(&bspb.WriteRequest{ResourceName: name, Data: data[:n]}); err != nil {
						t.Fatal(err)
					}
					data = data[n:]
				}
				resp, err := stream.CloseAndRecv()
				if err != nil || resp.GetCommittedSize() != int64(size) {
					t.Errorf("write: committed %d of %d, %v", resp.GetCommittedSize(), size, err)
				}
			})
		}
	}
	if serverPool.gets.Load() == 0 || clientPool.gets.Load() == 0 {
		t.Errorf("pools used: server %d, client %d gets; want both in use", serverPool.gets.Load(), clientPool.gets.Load())
	}
}
