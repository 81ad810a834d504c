package grpcmem

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	bspb "google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// sinkStream serves ByteStream with no storage behind it, so that the
// benchmarks measure gRPC and protobuf alone: Write counts and drops, Read
// sends the same 1 MiB slice read_limit times.
type sinkStream struct {
	bspb.UnimplementedByteStreamServer
	chunk []byte
}

func (s *sinkStream) Read(req *bspb.ReadRequest, stream bspb.ByteStream_ReadServer) error {
	for range req.GetReadLimit() {
		if err := stream.Send(&bspb.ReadResponse{Data: s.chunk}); err != nil {
			return err
		}
	}
	return nil
}

func (s *sinkStream) Write(stream bspb.ByteStream_WriteServer) error {
	var n int64
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&bspb.WriteResponse{CommittedSize: n})
		}
		if err != nil {
			return err
		}
		n += int64(len(req.GetData()))
	}
}

// reportCPU reports the CPU time the process (client and server) used per
// operation: on a machine shared with other work, wall time measures the
// neighbours as much as the code. Call the returned function at the end.
func reportCPU(b *testing.B) func() {
	start := cpuTime(b)
	return func() {
		b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkByteStream moves 64 MiB blobs in 1 MiB messages over loopback
// with gRPC's default buffers ("zeroing") and with this package's options
// on both sides ("nonzeroing"). Compare with
//
//	go test ./internal/grpcmem -run '^$' -bench ByteStream -count=5 | benchstat -col /pool -
func BenchmarkByteStream(b *testing.B) {
	const chunk, blob = 1 << 20, 64 << 20
	for _, pool := range []string{"zeroing", "nonzeroing"} {
		var serverOpts []grpc.ServerOption
		var dialOpts []grpc.DialOption
		if pool == "nonzeroing" {
			serverOpts, dialOpts = ServerOptions(), DialOptions()
		}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := grpc.NewServer(serverOpts...)
		bspb.RegisterByteStreamServer(srv, &sinkStream{chunk: make([]byte, chunk)})
		go srv.Serve(lis)
		conn, err := grpc.NewClient(lis.Addr().String(), append(dialOpts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
		if err != nil {
			b.Fatal(err)
		}
		client := bspb.NewByteStreamClient(conn)
		data := make([]byte, chunk)
		ctx := context.Background()
		b.Run("dir=write/pool="+pool, func(b *testing.B) {
			b.SetBytes(blob)
			defer reportCPU(b)()
			for b.Loop() {
				stream, err := client.Write(ctx)
				if err != nil {
					b.Fatal(err)
				}
				for range blob / chunk {
					if err := stream.Send(&bspb.WriteRequest{ResourceName: "x", Data: data}); err != nil {
						b.Fatal(err)
					}
				}
				if resp, err := stream.CloseAndRecv(); err != nil || resp.GetCommittedSize() != blob {
					b.Fatalf("write: %v, committed %d", err, resp.GetCommittedSize())
				}
			}
		})
		b.Run("dir=read/pool="+pool, func(b *testing.B) {
			b.SetBytes(blob)
			defer reportCPU(b)()
			for b.Loop() {
				stream, err := client.Read(ctx, &bspb.ReadRequest{ResourceName: "x", ReadLimit: blob / chunk})
				if err != nil {
					b.Fatal(err)
				}
				var n int
				for {
					resp, err := stream.Recv()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n += len(resp.GetData())
				}
				if n != blob {
					b.Fatalf("read %d bytes", n)
				}
			}
		})
		conn.Close()
		srv.Stop()
	}
}
