package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	bspb "google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/internal/digest"
	"github.com/kilnbuild/kiln/internal/grpcmem"
)

// maxMessageSize lifts gRPC's 4 MiB default in both directions: the load
// generator must never be the side that refuses a large batch or response.
const maxMessageSize = 1 << 30

// defaultMaxBatchBytes is REAPI's advice for servers that do not advertise
// max_batch_total_size_bytes.
const defaultMaxBatchBytes = 4 << 20

// Client is a REAPI client bound to one endpoint and instance.
type Client struct {
	Instance       string
	DigestFunction digest.Function
	// ChunkSize is the size of ByteStream write messages.
	ChunkSize int
	// MaxBatchBytes bounds the blob bytes of one batch request made during
	// setup; Dial sets it from the server's capabilities when it can.
	MaxBatchBytes int64

	CAS          repb.ContentAddressableStorageClient
	ByteStream   bspb.ByteStreamClient
	ActionCache  repb.ActionCacheClient
	Capabilities repb.CapabilitiesClient
	Execution    repb.ExecutionClient

	conn *grpc.ClientConn
}

// DialOptions configure Dial.
type DialOptions struct {
	Instance       string
	DigestFunction digest.Function
	ChunkSize      int
	// Headers are sent with every RPC, e.g. an API key.
	Headers map[string]string
}

// Dial connects to target: grpc://host:port (plaintext), grpcs://host:port
// (TLS with the system roots), unix:///path, or a bare host:port
// (plaintext). Connecting is lazy: the first RPC reports an unreachable
// endpoint.
func Dial(target string, o DialOptions) (*Client, error) {
	addr, creds, err := parseTarget(target)
	if err != nil {
		return nil, err
	}
	md, err := requestMetadata(o.Headers)
	if err != nil {
		return nil, err
	}
	// A non-zeroing buffer pool keeps the client's own CPU (it shares the
	// machine with the server in most runs) off gRPC's buffer clearing.
	conn, err := grpc.NewClient(addr, append(grpcmem.DialOptions(),
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageSize), grpc.MaxCallSendMsgSize(maxMessageSize)),
		grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return invoker(metadata.NewOutgoingContext(ctx, md), method, req, reply, cc, opts...)
		}),
		grpc.WithStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return streamer(metadata.NewOutgoingContext(ctx, md), desc, cc, method, opts...)
		}),
	)...)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", target, err)
	}
	fn := o.DigestFunction
	if fn == repb.DigestFunction_UNKNOWN {
		fn = repb.DigestFunction_SHA256
	}
	if !digest.Supported(fn) {
		conn.Close()
		return nil, fmt.Errorf("digest function %s is not supported", fn)
	}
	chunk := o.ChunkSize
	if chunk <= 0 {
		chunk = 1 << 20
	}
	return &Client{
		Instance:       o.Instance,
		DigestFunction: fn,
		ChunkSize:      chunk,
		MaxBatchBytes:  defaultMaxBatchBytes,
		CAS:            repb.NewContentAddressableStorageClient(conn),
		ByteStream:     bspb.NewByteStreamClient(conn),
		ActionCache:    repb.NewActionCacheClient(conn),
		Capabilities:   repb.NewCapabilitiesClient(conn),
		Execution:      repb.NewExecutionClient(conn),
		conn:           conn,
	}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// CheckCapabilities asks the server what it serves, adopts its batch size
// limit, and fails if it does not speak the client's digest function.
func (c *Client) CheckCapabilities(ctx context.Context) (*repb.ServerCapabilities, error) {
	caps, err := c.Capabilities.GetCapabilities(ctx, &repb.GetCapabilitiesRequest{InstanceName: c.Instance})
	if err != nil {
		return nil, fmt.Errorf("GetCapabilities: %w", err)
	}
	cc := caps.GetCacheCapabilities()
	if n := cc.GetMaxBatchTotalSizeBytes(); n > 0 {
		c.MaxBatchBytes = n
	}
	fns := cc.GetDigestFunctions()
	for _, fn := range fns {
		if fn == c.DigestFunction {
			return caps, nil
		}
	}
	return caps, fmt.Errorf("server does not advertise digest function %s (it does %v)", c.DigestFunction, fns)
}

func parseTarget(target string) (string, credentials.TransportCredentials, error) {
	switch {
	case strings.HasPrefix(target, "grpc://"):
		return strings.TrimPrefix(target, "grpc://"), insecure.NewCredentials(), nil
	case strings.HasPrefix(target, "grpcs://"):
		return strings.TrimPrefix(target, "grpcs://"), credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12}), nil
	case strings.HasPrefix(target, "unix://"):
		return target, insecure.NewCredentials(), nil
	case strings.Contains(target, "://"):
		return "", nil, fmt.Errorf("target %q: scheme must be grpc://, grpcs:// or unix://", target)
	case target == "":
		return "", nil, errors.New("target is empty")
	}
	return target, insecure.NewCredentials(), nil
}

// requestMetadata is the metadata sent with every RPC: the caller's headers
// and REAPI's RequestMetadata naming this tool, so that server logs show
// where the load comes from.
func requestMetadata(headers map[string]string) (metadata.MD, error) {
	rm, err := proto.Marshal(&repb.RequestMetadata{
		ToolDetails:      &repb.ToolDetails{ToolName: "kiln-bench"},
		ToolInvocationId: newUUID(),
	})
	if err != nil {
		return nil, fmt.Errorf("encoding request metadata: %w", err)
	}
	md := metadata.Pairs("build.bazel.remote.execution.v2.requestmetadata-bin", string(rm))
	for k, v := range headers {
		md.Append(strings.ToLower(k), v)
	}
	return md, nil
}
