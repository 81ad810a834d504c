package actioncache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

// DefaultMaxInlineBytes is the default budget for contents inlined into one
// GetActionResult response: far below gRPC's usual 4 MiB message limit, so
// that the rest of the result always fits beside it.
const DefaultMaxInlineBytes = 1 << 20

// ServerOptions configure the ActionCache service.
type ServerOptions struct {
	// UpdateEnabled lets clients write results with UpdateActionResult;
	// false answers PERMISSION_DENIED. It must match what the
	// Capabilities service advertises. Note that Bazel, with its default
	// --remote_upload_local_results, refuses to start against a server
	// that advertises updates as disabled.
	UpdateEnabled bool
	// MaxInlineBytes bounds the stdout, stderr and output file contents
	// inlined into one GetActionResult response; 0 means
	// DefaultMaxInlineBytes, negative never inlines.
	MaxInlineBytes int64
	// MaxReferencedBlobs bounds the blobs an uploaded result may refer to
	// (see CompletenessOptions); 0 means DefaultMaxReferencedBlobs.
	MaxReferencedBlobs int
	// Registerer receives kiln_actioncache_requests_total; nil skips it.
	Registerer prometheus.Registerer
	// Logger receives failures that are not the client's; nil discards.
	Logger *slog.Logger
}

// Server implements the REAPI ActionCache service over a Store.
type Server struct {
	repb.UnimplementedActionCacheServer

	store   Store
	blobs   cas.BlobStore
	opts    ServerOptions
	metrics *serverMetrics
	log     *slog.Logger
}

// NewServer serves store, reading and checking referenced blobs in blobs.
// store should be wrapped with NewCompletenessChecking: the server itself
// does not hide entries whose outputs are gone (the Execution service
// shares the same wrapped store for its cache lookups).
func NewServer(store Store, blobs cas.BlobStore, opts ServerOptions) *Server {
	if opts.MaxInlineBytes == 0 {
		opts.MaxInlineBytes = DefaultMaxInlineBytes
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{store: store, blobs: blobs, opts: opts, metrics: newServerMetrics(opts.Registerer), log: log}
}

// Register adds the service to r.
func (s *Server) Register(r grpc.ServiceRegistrar) { repb.RegisterActionCacheServer(r, s) }

// resolveKey validates the action digest of a request under the digest
// function the request names or, for legacy clients, implies.
func resolveKey(instance string, requested digest.Function, action *repb.Digest) (Key, error) {
	if action == nil {
		return Key{}, fmt.Errorf("action_digest: %w: digest is missing", digest.ErrInvalid)
	}
	fn, err := digest.Resolve(requested, action.GetHash())
	if err != nil {
		field := "digest_function"
		if requested == repb.DigestFunction_UNKNOWN { // inferred from the hash
			field = "action_digest"
		}
		return Key{}, fmt.Errorf("%s: %w", field, err)
	}
	d, err := digest.FromProto(fn, action)
	if err != nil {
		return Key{}, fmt.Errorf("action_digest: %w", err)
	}
	return Key{Instance: instance, Action: d}, nil
}

// GetActionResult implements repb.ActionCacheServer.
func (s *Server) GetActionResult(ctx context.Context, req *repb.GetActionResultRequest) (*repb.ActionResult, error) {
	const method = "GetActionResult"
	key, err := resolveKey(req.GetInstanceName(), req.GetDigestFunction(), req.GetActionDigest())
	if err != nil {
		s.metrics.count(method, resultInvalid)
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	r, err := s.store.Get(ctx, key)
	if err == nil {
		// Never touch what the store handed out: it may be shared.
		r = proto.CloneOf(r)
		err = s.inline(ctx, key.Action.Function, req, r)
	}
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, cas.ErrNotFound):
		s.metrics.count(method, resultMiss)
		return nil, status.Errorf(codes.NotFound, "no action result for %s in instance %q", key.Action, key.Instance)
	case err != nil:
		s.metrics.count(method, resultError)
		s.log.Error("reading action cache", "instance", key.Instance, "action", key.Action, "err", err)
		return nil, toStatus("reading the action cache", err)
	}
	s.metrics.count(method, resultHit)
	return r, nil
}
