package server

import (
	"context"
	"log/slog"
	"runtime/debug"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// recoverPanic turns a panic in a handler into INTERNAL for that one call
// and logs it with its stack: one bad request must not take down a server
// that a whole team's builds depend on. The client sees no stack.
func recoverPanic(l *slog.Logger) recovery.Option {
	return recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		l.ErrorContext(ctx, "panic in gRPC handler", "panic", p, "stack", string(debug.Stack()))
		return status.Error(codes.Internal, "internal error: the server hit a bug handling this call (it is logged)")
	})
}

func unaryRecovery(l *slog.Logger) grpc.UnaryServerInterceptor {
	return recovery.UnaryServerInterceptor(recoverPanic(l))
}

func streamRecovery(l *slog.Logger) grpc.StreamServerInterceptor {
	return recovery.StreamServerInterceptor(recoverPanic(l))
}
