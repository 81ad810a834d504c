package capabilities

// Conformance tests for the Capabilities items of shared/REAPI-CHECKLIST.md,
// over a real gRPC server on 127.0.0.1 with a real client.

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kilnbuild/kiln/internal/digest"
)

func getCapabilities(t *testing.T, opts Options) *repb.ServerCapabilities {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	NewServer(opts).Register(gs)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); gs.Serve(lis) }()
	defer func() { gs.Stop(); wg.Wait() }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	caps, err := repb.NewCapabilitiesClient(conn).GetCapabilities(context.Background(), &repb.GetCapabilitiesRequest{InstanceName: "any/instance"})
	if err != nil {
		t.Fatalf("GetCapabilities: %v", err)
	}
	return caps
}

func TestItem6_ReportsAPIVersionsAndOnlyServedCapabilities(t *testing.T) {
	caps := getCapabilities(t, Options{})
	low, high := caps.GetLowApiVersion(), caps.GetHighApiVersion()
	if low.GetMajor() != 2 || low.GetMinor() != 0 || low.GetPatch() != 0 || low.GetPrerelease() != "" {
		t.Errorf("low_api_version = %v, want 2.0", low)
	}
	if high.GetMajor() != 2 || high.GetMinor() != 3 || high.GetPrerelease() != "" {
		t.Errorf("high_api_version = %v, want 2.3", high)
	}
	// Bazel rejects a server whose deprecated version is above its own 2.0.
	if d := caps.GetDeprecatedApiVersion(); d.GetMajor() != 2 || d.GetMinor() != 0 {
		t.Errorf("deprecated_api_version = %v, want 2.0", d)
	}
	if caps.GetCacheCapabilities() == nil {
		t.Error("cache_capabilities missing on a cache endpoint")
	}
	if caps.GetExecutionCapabilities() != nil {
		t.Errorf("execution_capabilities %v reported by an endpoint without execution", caps.GetExecutionCapabilities())
	}
}

func TestItem7_ExecutionCapabilitiesWhenExecutionIsServed(t *testing.T) {
	caps := getCapabilities(t, Options{ExecEnabled: true, SupportedNodeProperties: []string{"mtime", "unix_mode"}})
	ec := caps.GetExecutionCapabilities()
	if ec == nil {
		t.Fatal("execution_capabilities missing with execution enabled")
	}
	if ec.GetDigestFunction() != repb.DigestFunction_SHA256 {
		t.Errorf("digest_function = %v, want SHA256 (never UNKNOWN)", ec.GetDigestFunction())
	}
	if !slices.Equal(ec.GetDigestFunctions(), digest.Functions) {
		t.Errorf("digest_functions = %v, want %v", ec.GetDigestFunctions(), digest.Functions)
	}
	if !slices.Contains(ec.GetDigestFunctions(), ec.GetDigestFunction()) {
		t.Error("digest_functions must contain digest_function")
	}
	if !ec.GetExecEnabled() {
		t.Error("exec_enabled is false")
	}
	if len(ec.GetExecutionPriorityCapabilities().GetPriorities()) == 0 {
		t.Error("execution_priority_capabilities has no range")
	}
	if !slices.Equal(ec.GetSupportedNodeProperties(), []string{"mtime", "unix_mode"}) {
		t.Errorf("supported_node_properties = %v", ec.GetSupportedNodeProperties())
	}
	if caps.GetCacheCapabilities() == nil {
		t.Error("an execution endpoint that serves the cache too must report cache_capabilities")
	}
}

func TestItem8_CacheCapabilities(t *testing.T) {
	cc := getCapabilities(t, Options{UpdateEnabled: true, MaxBatchTotalSizeBytes: 4 << 20, MaxCASBlobSizeBytes: 1 << 40}).GetCacheCapabilities()
	if !slices.Equal(cc.GetDigestFunctions(), digest.Functions) {
		t.Errorf("digest_functions = %v, want %v", cc.GetDigestFunctions(), digest.Functions)
	}
	if !cc.GetActionCacheUpdateCapabilities().GetUpdateEnabled() {
		t.Error("update_enabled is false although updates are enabled")
	}
	prios := cc.GetCachePriorityCapabilities().GetPriorities()
	if len(prios) == 0 || prios[0].GetMinPriority() > 0 || prios[0].GetMaxPriority() < 0 {
		t.Errorf("cache_priority_capabilities %v does not include the default priority 0", prios)
	}
	if cc.GetMaxBatchTotalSizeBytes() != 4<<20 {
		t.Errorf("max_batch_total_size_bytes = %d, want %d", cc.GetMaxBatchTotalSizeBytes(), 4<<20)
	}
	if cc.GetMaxCasBlobSizeBytes() != 1<<40 {
		t.Errorf("max_cas_blob_size_bytes = %d, want %d", cc.GetMaxCasBlobSizeBytes(), int64(1)<<40)
	}
	if cc.GetSymlinkAbsolutePathStrategy() != repb.SymlinkAbsolutePathStrategy_ALLOWED {
		t.Errorf("symlink_absolute_path_strategy = %v, want ALLOWED", cc.GetSymlinkAbsolutePathStrategy())
	}
	zstdOnly := []repb.Compressor_Value{repb.Compressor_ZSTD}
	if !slices.Equal(cc.GetSupportedCompressors(), zstdOnly) {
		t.Errorf("supported_compressors = %v, want [ZSTD] (IDENTITY is implicit)", cc.GetSupportedCompressors())
	}
	if !slices.Equal(cc.GetSupportedBatchUpdateCompressors(), zstdOnly) {
		t.Errorf("supported_batch_update_compressors = %v, want [ZSTD]", cc.GetSupportedBatchUpdateCompressors())
	}
}

func TestItem8_ReportsDisabledUpdatesAndStricterSymlinks(t *testing.T) {
	cc := getCapabilities(t, Options{SymlinkAbsolutePathStrategy: repb.SymlinkAbsolutePathStrategy_DISALLOWED}).GetCacheCapabilities()
	if cc.GetActionCacheUpdateCapabilities() == nil || cc.GetActionCacheUpdateCapabilities().GetUpdateEnabled() {
		t.Errorf("action_cache_update_capabilities = %v, want present with update_enabled false", cc.GetActionCacheUpdateCapabilities())
	}
	if cc.GetSymlinkAbsolutePathStrategy() != repb.SymlinkAbsolutePathStrategy_DISALLOWED {
		t.Errorf("symlink_absolute_path_strategy = %v, want DISALLOWED", cc.GetSymlinkAbsolutePathStrategy())
	}
}

func TestCapabilitiesAreNotSharedBetweenCalls(t *testing.T) {
	s := NewServer(Options{})
	first, _ := s.GetCapabilities(context.Background(), &repb.GetCapabilitiesRequest{})
	first.CacheCapabilities.DigestFunctions[0] = repb.DigestFunction_MD5
	second, _ := s.GetCapabilities(context.Background(), &repb.GetCapabilitiesRequest{})
	if second.GetCacheCapabilities().GetDigestFunctions()[0] != digest.Functions[0] {
		t.Error("a caller's change to one response leaked into the next")
	}
	if digest.Functions[0] != repb.DigestFunction_SHA256 {
		t.Error("a caller's change to a response reached digest.Functions")
	}
}
