package main_test

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/kilnbuild/kiln/internal/bazeltest"
	"github.com/kilnbuild/kiln/internal/kilntest"
)

// minRemoteSpawns is how many spawns `bazel test //...` of testdata/remote
// runs at least: 3 chain steps, 3 compiles + 2 archives + 1 link, the
// directory writer and its reader, the stderr writer, and the test with its
// test.xml. Bazel 4.2.3 runs a few more of its own (16 in all).
const minRemoteSpawns = 14

// Expected outputs of testdata/remote.
const (
	wantHello      = "hello, kiln\nHELLO, KILN\n"
	wantChainStep3 = "STEP TWO\nKILN REMOTE\n"
	wantListing    = "./empty_sibling/inner/beside.txt\n./top/middle/bottom/bottom.txt\n./top/middle/middle.txt\n./top/tool.sh\n./top/top.txt\nat the bottom\n"
	stderrMarker   = "kiln-stderr-marker: written by a remote action"
)

// TestBazelRemoteExecution drives a real Bazel against `kiln up` as
// --remote_executor with nothing allowed to run locally: genrules, C++
// compiles and links on the host gcc, a Starlark action writing a
// directory, passing, failing and timing-out tests; then a clean rebuild
// that the action cache serves whole.
func TestBazelRemoteExecution(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with Bazel; skipped in -short mode")
	}
	b := bazeltest.New(t)
	b.CopyWorkspace("remote")
	kiln := kilntest.Start(t, kilntest.Options{Args: []string{"--workers=2"}})
	// Clipped, so that each append below makes a copy of its own.
	remote := slices.Clip(append(bazeltest.RemoteExecutionOnly(), kiln.RemoteExecutorFlag()))

	first := b.Test(append(remote, "//...")...)
	requireAllRemote(t, "test //...", first)
	if n := first.Processes.Count(bazeltest.KindRemote); n < minRemoteSpawns {
		t.Errorf("test //...: %d remote spawns, want at least %d\n%s", n, minRemoteSpawns, first.Output)
	}
	requireTestStatus(t, first, "//tests:pass_test", bazeltest.TestStatus{Status: bazeltest.TestPassed})
	if !strings.Contains(first.Output, stderrMarker) {
		t.Errorf("Bazel did not show the stderr of //noisy:noisy:\n%s", first.Output)
	}
	requireRemoteOutputs(t, b)

	t.Run("failing test is reported FAILED", func(t *testing.T) {
		res, err := b.Run("test", append(remote, "//tests:fail_test")...)
		if err == nil {
			t.Fatalf("bazel test //tests:fail_test succeeded:\n%s", res.Output)
		}
		requireAllRemote(t, "test //tests:fail_test", res)
		requireTestStatus(t, res, "//tests:fail_test", bazeltest.TestStatus{Status: bazeltest.TestFailed})
		// The log of a failed action comes back from the worker too.
		requireFile(t, b.TestLogPath("tests/fail_test"), func(data []byte) bool {
			return strings.Contains(string(data), "kiln-fail-marker: this test fails on purpose")
		})
	})

	t.Run("test that runs too long is reported TIMEOUT", func(t *testing.T) {
		res, err := b.Run("test", append(remote, "--test_timeout=5", "//tests:timeout_test")...)
		if err == nil {
			t.Fatalf("bazel test //tests:timeout_test succeeded:\n%s", res.Output)
		}
		requireAllRemote(t, "test //tests:timeout_test", res)
		requireTestStatus(t, res, "//tests:timeout_test", bazeltest.TestStatus{Status: bazeltest.TestTimeout})
		// What the test printed before it was stopped is kept.
		requireFile(t, b.TestLogPath("tests/timeout_test"), func(data []byte) bool {
			return strings.Contains(string(data), "kiln-timeout-marker: going to sleep")
		})
	})

	t.Run("clean rebuild is all remote cache hits", func(t *testing.T) {
		b.Clean()
		res := b.Test(append(remote, "//...")...)
		requireAllRemoteHits(t, "test //... after clean", res)
		requireTestStatus(t, res, "//tests:pass_test", bazeltest.TestStatus{Status: bazeltest.TestPassed, Cached: true})
		// Bazel replays the cached stderr as it shows a fresh one.
		if !strings.Contains(res.Output, stderrMarker) {
			t.Errorf("Bazel did not show the cached stderr of //noisy:noisy:\n%s", res.Output)
		}
		requireRemoteOutputs(t, b)

		// A failed test is never cached: it runs again.
		res, err := b.Run("test", append(remote, "//tests:fail_test")...)
		if err == nil {
			t.Fatalf("bazel test //tests:fail_test succeeded after clean:\n%s", res.Output)
		}
		requireTestStatus(t, res, "//tests:fail_test", bazeltest.TestStatus{Status: bazeltest.TestFailed})
		if res.Processes.Count(bazeltest.KindRemote) == 0 {
			t.Errorf("the failed test was not run again: %v\n%s", res.Processes, res.Output)
		}
	})
}

// requireAllRemote fails t unless res ran something remotely and every
// spawn of res was remote or Bazel-internal: nothing local, no other cache.
func requireAllRemote(t *testing.T, what string, res bazeltest.Result) {
	t.Helper()
	p := res.Processes
	if p.Count(bazeltest.KindRemote) == 0 || p.Except(bazeltest.KindInternal, bazeltest.KindRemote) != 0 {
		t.Fatalf("%s: %v, want every non-internal process remote\n%s", what, p, res.Output)
	}
}

// requireTestStatus fails t unless Bazel's summary gives label the status.
func requireTestStatus(t *testing.T, res bazeltest.Result, label string, want bazeltest.TestStatus) {
	t.Helper()
	got, ok := bazeltest.ParseTestStatus(res.Output, label)
	if !ok || got != want {
		t.Fatalf("%s: status %+v (found: %v), want %+v\n%s", label, got, ok, want, res.Output)
	}
}

// requireRemoteOutputs checks what testdata/remote builds, as downloaded
// from the workers' results.
func requireRemoteOutputs(t *testing.T, b *bazeltest.Bazel) {
	t.Helper()
	// Compiled and linked on a worker; it runs here, the same machine.
	out, err := exec.Command(b.BinPath("cc/hello")).Output()
	if err != nil || string(out) != wantHello {
		t.Errorf("cc/hello printed %q, %v; want %q", out, err, wantHello)
	}
	requireFile(t, b.BinPath("chain/step3.txt"), func(data []byte) bool { return string(data) == wantChainStep3 })
	for rel, want := range map[string]string{
		"top/top.txt":                    "at the top\n",
		"top/middle/middle.txt":          "in the middle\n",
		"top/middle/bottom/bottom.txt":   "at the bottom\n",
		"empty_sibling/inner/beside.txt": "beside\n",
		"top/tool.sh":                    "#!/bin/sh\necho run\n",
	} {
		requireFile(t, b.BinPath("outdir/tree/"+rel), func(data []byte) bool { return string(data) == want })
	}
	entries, err := os.ReadDir(b.BinPath("outdir/tree"))
	if err != nil || len(entries) != 2 {
		t.Errorf("outdir/tree holds %v (%v), want exactly top and empty_sibling", entries, err)
	}
	// The directory also went into another remote action's input root.
	requireFile(t, b.BinPath("outdir/listing.txt"), func(data []byte) bool { return string(data) == wantListing })
}
