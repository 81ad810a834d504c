package main_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/kilnbuild/kiln/internal/bazeltest"
	"github.com/kilnbuild/kiln/internal/kilntest"
)

// wantSummary is what //derived:summary holds: the cc binary's output, the
// last chain step, and the size and last line of the 8 MiB genrule output.
const wantSummary = "hello, kiln\nHELLO, KILN\nSTEP TWO\nKILN CHAIN\n8388608\n0000000000000000000000000262143\n"

// TestBazelRemoteCache drives a real Bazel against `kiln up` as
// --remote_cache: what one build uploads, a clean build downloads, tests
// included, with and without the bytes, and after kiln restarted.
func TestBazelRemoteCache(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with Bazel; skipped in -short mode")
	}
	b := bazeltest.New(t)
	b.CopyWorkspace("workspace")
	kiln := kilntest.Start(t, kilntest.Options{})
	remote := kiln.RemoteCacheFlag()

	// Fill the cache. Nothing may come from it yet: the data dir is new.
	first := b.Build(remote, "//...")
	if first.Processes.RemoteCacheHits() != 0 || first.Processes.Except(bazeltest.KindInternal) == 0 {
		t.Fatalf("first build against an empty cache: %v, want actions run and no hits\n%s", first.Processes, first.Output)
	}
	tested := b.Test(remote, "//...")
	if !strings.Contains(tested.Output, "Executed 2 out of 2 tests: 2 tests pass.") {
		t.Fatalf("first test run did not run both tests:\n%s", tested.Output)
	}

	t.Run("clean rebuild is all remote cache hits", func(t *testing.T) {
		b.Clean()
		res := b.Build(remote, "//...")
		requireAllRemoteHits(t, "build //...", res)
		requireFile(t, b.BinPath("big/big.bin"), func(data []byte) bool {
			return len(data) == 8<<20 && bytes.HasSuffix(data, []byte("\n0000000000000000000000000262143\n"))
		})
		requireFile(t, b.BinPath("chain/step4.txt"), func(data []byte) bool {
			return string(data) == "STEP TWO\nKILN CHAIN\n"
		})

		res = b.Test(remote, "//...")
		requireAllRemoteHits(t, "test //...", res)
		if !strings.Contains(res.Output, "Executed 0 out of 2 tests: 2 tests pass.") {
			t.Errorf("tests were not served from the remote cache:\n%s", res.Output)
		}
	})

	t.Run("clean build without the bytes can be built on", func(t *testing.T) {
		b.Clean()
		res := b.Test(remote, "--remote_download_minimal", "//...")
		requireAllRemoteHits(t, "test --remote_download_minimal //...", res)
		if !strings.Contains(res.Output, "Executed 0 out of 2 tests: 2 tests pass.") {
			t.Errorf("tests were not served from the remote cache:\n%s", res.Output)
		}
		if _, err := os.Stat(b.BinPath("big/big.bin")); err == nil {
			t.Errorf("big/big.bin was downloaded despite --remote_download_minimal")
		}

		// //derived:summary was never built: it runs locally, on inputs
		// that only Kiln holds, so Bazel must download them now.
		res = b.Build(remote, "--remote_download_minimal", "//derived:summary")
		if res.Processes.Except(bazeltest.KindInternal, bazeltest.KindRemoteCacheHit) != 1 {
			t.Errorf("building //derived:summary: %v, want exactly the summary action run\n%s", res.Processes, res.Output)
		}
		requireFile(t, b.BinPath("derived/summary.txt"), func(data []byte) bool { return string(data) == wantSummary })

		// And its result went to the cache like any other.
		b.Clean()
		res = b.Build(remote, "--remote_download_toplevel", "//derived:summary")
		requireAllRemoteHits(t, "build --remote_download_toplevel //derived:summary", res)
		requireFile(t, b.BinPath("derived/summary.txt"), func(data []byte) bool { return string(data) == wantSummary })
	})

	t.Run("cache survives a restart", func(t *testing.T) {
		kiln.Stop()
		restarted := kilntest.Start(t, kilntest.Options{DataDir: kiln.DataDir})
		b.Clean()
		res := b.Test(restarted.RemoteCacheFlag(), "//...")
		requireAllRemoteHits(t, "test //... after restarting kiln", res)
		requireFile(t, b.BinPath("big/big.bin"), func(data []byte) bool { return len(data) == 8<<20 })
	})
}

// requireAllRemoteHits fails t unless every spawn of res that a cache can
// serve came from the remote cache.
func requireAllRemoteHits(t *testing.T, what string, res bazeltest.Result) {
	t.Helper()
	p := res.Processes
	if p.RemoteCacheHits() == 0 || p.Except(bazeltest.KindInternal, bazeltest.KindRemoteCacheHit) != 0 {
		t.Fatalf("%s: %v, want every non-internal process a remote cache hit\n%s", what, p, res.Output)
	}
}

// requireFile fails t unless path exists and ok accepts its content.
func requireFile(t *testing.T, path string, ok func([]byte) bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !ok(data) {
		n := len(data)
		if n > 200 {
			data = append(data[:200:200], "..."...)
		}
		t.Fatalf("%s has unexpected content (%d bytes): %q", path, n, data)
	}
}
