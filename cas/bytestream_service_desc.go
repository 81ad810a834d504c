package cas

import (
	"context"

	"google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
)

// byteStreamServiceDesc describes google.bytestream.ByteStream like the
// generated code does. The generated registration function takes a
// *grpc.Server and its descriptor is unexported; this one lets Register
// take any grpc.ServiceRegistrar.
var byteStreamServiceDesc = grpc.ServiceDesc{
	ServiceName: "google.bytestream.ByteStream",
	HandlerType: (*bytestream.ByteStreamServer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "QueryWriteStatus",
		Handler:    queryWriteStatusHandler,
	}},
	Streams: []grpc.StreamDesc{
		{StreamName: "Read", Handler: readHandler, ServerStreams: true},
		{StreamName: "Write", Handler: writeHandler, ClientStreams: true},
	},
	Metadata: "google/bytestream/bytestream.proto",
}

func readHandler(srv any, stream grpc.ServerStream) error {
	req := new(bytestream.ReadRequest)
	if err := stream.RecvMsg(req); err != nil {
		return err
	}
	return srv.(bytestream.ByteStreamServer).Read(req, readServer{stream})
}

type readServer struct{ grpc.ServerStream }

func (s readServer) Send(m *bytestream.ReadResponse) error { return s.SendMsg(m) }

func writeHandler(srv any, stream grpc.ServerStream) error {
	return srv.(bytestream.ByteStreamServer).Write(writeServer{stream})
}

type writeServer struct{ grpc.ServerStream }

func (s writeServer) SendAndClose(m *bytestream.WriteResponse) error { return s.SendMsg(m) }

func (s writeServer) Recv() (*bytestream.WriteRequest, error) {
	m := new(bytestream.WriteRequest)
	if err := s.RecvMsg(m); err != nil {
		return nil, err
	}
	return m, nil
}

func queryWriteStatusHandler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	req := new(bytestream.QueryWriteStatusRequest)
	if err := dec(req); err != nil {
		return nil, err
	}
	call := func(ctx context.Context, req any) (any, error) {
		return srv.(bytestream.ByteStreamServer).QueryWriteStatus(ctx, req.(*bytestream.QueryWriteStatusRequest))
	}
	if interceptor == nil {
		return call(ctx, req)
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/google.bytestream.ByteStream/QueryWriteStatus"}
	return interceptor(ctx, req, info, call)
}
