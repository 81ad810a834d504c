package grpcmem

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/mem"
)

// ServerOptions make a gRPC server take its receive buffers and its proto
// codec's buffers from one new non-zeroing Pool.
func ServerOptions() []grpc.ServerOption { return serverOptions(NewPool()) }

// DialOptions do the same for a client connection.
func DialOptions() []grpc.DialOption { return dialOptions(NewPool()) }

func serverOptions(pool mem.BufferPool) []grpc.ServerOption {
	return []grpc.ServerOption{
		experimental.BufferPool(pool),
		grpc.ForceServerCodecV2(NewCodec(pool)),
	}
}

func dialOptions(pool mem.BufferPool) []grpc.DialOption {
	return []grpc.DialOption{
		experimental.WithBufferPool(pool),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(NewCodec(pool))),
	}
}
