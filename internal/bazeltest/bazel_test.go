package bazeltest

import (
	"os"
	"strings"
	"testing"
)

// TestHarnessAgainstInProcessCache checks the harness itself: the workspace
// builds offline, and a clean rebuild against a remote cache is all hits.
func TestHarnessAgainstInProcessCache(t *testing.T) {
	skipIfShort(t)
	b := New(t)
	b.CopyWorkspace("workspace")
	remote := "--remote_cache=grpc://" + startInProcessCache(t)

	first := b.Build(remote, "//...")
	if first.Processes.Except(KindInternal, KindRemoteCacheHit) == 0 {
		t.Fatalf("first build ran nothing (%v); is the cache shared with something?\n%s", first.Processes, first.Output)
	}
	b.Clean()
	again := b.Build(remote, "//...")
	if n := again.Processes.Except(KindInternal, KindRemoteCacheHit); n != 0 || again.Processes.RemoteCacheHits() == 0 {
		t.Fatalf("rebuild after clean: %v, want only remote cache hits and internal\n%s", again.Processes, again.Output)
	}
	if fi, err := os.Stat(b.BinPath("big/big.bin")); err != nil || fi.Size() != 8<<20 {
		t.Fatalf("big/big.bin after the rebuild: %v, %v; want 8 MiB", fi, err)
	}
}

func TestRunReportsFailedBuild(t *testing.T) {
	skipIfShort(t)
	b := New(t)
	b.CopyWorkspace("workspace")
	res, err := b.Run("build", "//no/such:target")
	if err == nil {
		t.Fatalf("building a missing target succeeded:\n%s", res.Output)
	}
	if !strings.Contains(res.Output, "no such package 'no/such'") {
		t.Errorf("the error output does not say what went wrong:\n%s", res.Output)
	}
}

func skipIfShort(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real Bazel; skipped in -short mode")
	}
}
