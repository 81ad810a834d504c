// Package capabilities owns the REAPI Capabilities service: the one place
// that tells clients which API versions, digest functions, compressors and
// limits this endpoint honours. It only reports; the services that do the
// work own the behaviour, and their options must agree with what is
// advertised here (the wiring in cmd/kiln passes the same values to both).
package capabilities

import (
	"context"
	"math"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	semver "github.com/bazelbuild/remote-apis/build/bazel/semver"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/internal/digest"
)

// The API versions Kiln speaks. Low is 2.0, which every Bazel from 2.x to
// 8.x can negotiate. High is 2.3, and claims only what Kiln honours:
//   - 2.1: output_paths and output_symlinks, compressed-blobs ByteStream
//     resources (ZSTD);
//   - 2.2: platform properties on the Action rather than the Command;
//   - 2.3: digest_function in every request, with non-legacy functions
//     such as BLAKE3 (digest.Resolve), argv[0] looked up through PATH, and
//     virtual_execution_duration in ExecutedActionMetadata.
//
// Later versions add blob splitting and splicing (2.12) and chunk mappings
// (2.13), which Kiln does not implement, so it does not claim them.
var (
	lowAPIVersion  = &semver.SemVer{Major: 2, Minor: 0}
	highAPIVersion = &semver.SemVer{Major: 2, Minor: 3}
)

// anyPriority is the range advertised for both cache and execution
// priorities. Every int32 is accepted and compared ("lower runs sooner,
// lower is kept longer"), so no client value is out of range; Bazel rejects
// its own --remote_execution_priority / --remote_result_cache_priority at
// start-up when they fall outside the advertised range.
var anyPriority = &repb.PriorityCapabilities{
	Priorities: []*repb.PriorityCapabilities_PriorityRange{{MinPriority: math.MinInt32, MaxPriority: math.MaxInt32}},
}

// Options say what the endpoint serves.
type Options struct {
	// ExecEnabled reports the Execution service. Without it no
	// ExecutionCapabilities are sent at all, as the API asks of a
	// CAS + ActionCache endpoint. Bazel (4.2.3 as much as 8.x) looks at
	// execution_capabilities only when --remote_executor is given, and then
	// fails with a clear "remote execution is not supported" message; with
	// --remote_cache alone it reads cache_capabilities only.
	ExecEnabled bool
	// UpdateEnabled reports whether clients may call UpdateActionResult.
	// It must match actioncache.ServerOptions.UpdateEnabled. Bazel's default
	// --remote_upload_local_results refuses a server that reports false.
	UpdateEnabled bool
	// MaxBatchTotalSizeBytes is the CAS batch limit (0: no limit but gRPC's).
	MaxBatchTotalSizeBytes int64
	// MaxCASBlobSizeBytes is the largest blob the CAS accepts (0: no limit).
	MaxCASBlobSizeBytes int64
	// SupportedNodeProperties lists the NodeProperties workers can report
	// for outputs (e.g. "mtime", "unix_mode"); sent with execution only.
	SupportedNodeProperties []string
	// SymlinkAbsolutePathStrategy overrides the default, ALLOWED.
	//
	// ALLOWED is what Bazel handles best because it fails nothing: under
	// DISALLOWED the server must reject input trees holding an absolute
	// symlink (INVALID_ARGUMENT) and fail actions that output one
	// (FAILED_PRECONDITION), so toolchains that link into /usr or /opt
	// build locally but not remotely. Allowing them is safe here: the cache
	// stores a symlink target as data and never follows it, and workers
	// create input symlinks literally inside each action's own input root,
	// in a sandbox whose only writable place is that root, so a target may
	// point anywhere but never lets an action write outside its directory.
	SymlinkAbsolutePathStrategy repb.SymlinkAbsolutePathStrategy_Value
}

// Server implements the REAPI Capabilities service.
type Server struct {
	repb.UnimplementedCapabilitiesServer
	caps *repb.ServerCapabilities
}

// NewServer returns a Server that reports what opts describe.
func NewServer(opts Options) *Server {
	return &Server{caps: build(opts)}
}

// Register adds the service to r.
func (s *Server) Register(r grpc.ServiceRegistrar) { repb.RegisterCapabilitiesServer(r, s) }

// GetCapabilities implements repb.CapabilitiesServer. Every instance name
// gets the same answer: instances partition data, not features.
func (s *Server) GetCapabilities(ctx context.Context, req *repb.GetCapabilitiesRequest) (*repb.ServerCapabilities, error) {
	return proto.CloneOf(s.caps), nil
}

func build(opts Options) *repb.ServerCapabilities {
	symlinks := opts.SymlinkAbsolutePathStrategy
	if symlinks == repb.SymlinkAbsolutePathStrategy_UNKNOWN {
		symlinks = repb.SymlinkAbsolutePathStrategy_ALLOWED
	}
	caps := &repb.ServerCapabilities{
		CacheCapabilities: &repb.CacheCapabilities{
			DigestFunctions: append([]digest.Function(nil), digest.Functions...),
			ActionCacheUpdateCapabilities: &repb.ActionCacheUpdateCapabilities{
				UpdateEnabled: opts.UpdateEnabled,
			},
			CachePriorityCapabilities:   anyPriority,
			MaxBatchTotalSizeBytes:      opts.MaxBatchTotalSizeBytes,
			SymlinkAbsolutePathStrategy: symlinks,
			// IDENTITY is implicit: the API requires every server to
			// support it and says it need not be listed.
			SupportedCompressors:            []repb.Compressor_Value{repb.Compressor_ZSTD},
			SupportedBatchUpdateCompressors: []repb.Compressor_Value{repb.Compressor_ZSTD},
			MaxCasBlobSizeBytes:             opts.MaxCASBlobSizeBytes,
		},
		DeprecatedApiVersion: lowAPIVersion,
		LowApiVersion:        lowAPIVersion,
		HighApiVersion:       highAPIVersion,
	}
	if opts.ExecEnabled {
		caps.ExecutionCapabilities = &repb.ExecutionCapabilities{
			// The legacy single field, which Bazel compares with its
			// --digest_function; SHA256 is every Bazel's default.
			DigestFunction:                repb.DigestFunction_SHA256,
			DigestFunctions:               append([]digest.Function(nil), digest.Functions...),
			ExecEnabled:                   true,
			ExecutionPriorityCapabilities: anyPriority,
			SupportedNodeProperties:       append([]string(nil), opts.SupportedNodeProperties...),
		}
	}
	return proto.CloneOf(caps)
}
