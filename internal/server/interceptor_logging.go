package server

import (
	"context"
	"log/slog"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// slogAdapter lets the middleware's logging interceptor write to slog.
func slogAdapter(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, level logging.Level, msg string, fields ...any) {
		l.Log(ctx, slog.Level(level), msg, fields...)
	})
}

// levelForCode decides how loud a finished call is. Successes and the
// answers a cache gives all day (NOT_FOUND is a cache miss) are debug; a
// client's mistake is info, worth seeing but not an alarm; what points at
// the server itself is an error.
func levelForCode(code codes.Code) logging.Level {
	switch code {
	case codes.OK, codes.NotFound, codes.Canceled, codes.AlreadyExists:
		return logging.LevelDebug
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange,
		codes.Unauthenticated, codes.PermissionDenied, codes.Unimplemented,
		codes.DeadlineExceeded, codes.Aborted:
		return logging.LevelInfo
	case codes.ResourceExhausted, codes.Unavailable:
		return logging.LevelWarn
	default: // Unknown, Internal, DataLoss
		return logging.LevelError
	}
}

var loggingOptions = []logging.Option{
	logging.WithLogOnEvents(logging.FinishCall),
	logging.WithLevels(levelForCode),
}

func unaryLogging(l *slog.Logger) grpc.UnaryServerInterceptor {
	return logging.UnaryServerInterceptor(slogAdapter(l), loggingOptions...)
}

func streamLogging(l *slog.Logger) grpc.StreamServerInterceptor {
	return logging.StreamServerInterceptor(slogAdapter(l), loggingOptions...)
}
