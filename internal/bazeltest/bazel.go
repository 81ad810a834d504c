// Package bazeltest runs a real Bazel, offline, against the test workspaces
// in the module's testdata/ folder. It owns how Bazel is started for tests
// (a private output root per test, no rc files but the system one, local
// stand-ins for the repositories Bazel would download) and how its output is
// read back (the "N processes: ..." summary). It knows nothing about Kiln: a
// test passes --remote_cache and friends as flags.
package bazeltest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RequireEnv names the environment variable that turns a missing Bazel from
// a skip into a failure, for CI machines that are meant to have it.
const RequireEnv = "KILN_REQUIRE_BAZEL"

// commandTimeout bounds one Bazel command, so that a wedged build fails the
// test with its output instead of running into the go test deadline.
const commandTimeout = 5 * time.Minute

// overriddenRepositories are the repositories Bazel 4 downloads for a plain
// build or test; testdata/bazel_overrides holds a tiny local one for each.
var overriddenRepositories = []string{"remote_coverage_tools", "rules_cc", "rules_java"}

// Bazel is one Bazel server with its own output root, working on one copy of
// a test workspace. It is not safe for concurrent use: Bazel serializes
// commands per output base anyway.
type Bazel struct {
	t         testing.TB
	bin       string
	root      string // temp dir holding the output root and the workspace copy
	testdata  string
	workspace string
}

// New returns a Bazel for t, or skips t if no bazel is installed (fails it
// instead when $KILN_REQUIRE_BAZEL is 1). The Bazel server is shut down and
// its files removed when t ends.
func New(t testing.TB) *Bazel {
	t.Helper()
	bin, err := exec.LookPath("bazel")
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("bazel is not installed but %s=1: %v", RequireEnv, err)
		}
		t.Skipf("bazel is not installed (%v); set %s=1 to make this a failure", err, RequireEnv)
	}
	// Not t.TempDir: Bazel leaves read-only trees that the testing package
	// cannot remove, and the server must be shut down first.
	root, err := os.MkdirTemp("", "kiln-bazel-")
	if err != nil {
		t.Fatal(err)
	}
	b := &Bazel{t: t, bin: bin, root: root, testdata: TestdataDir(t)}
	t.Cleanup(func() {
		b.Shutdown()
		if err := RemoveAll(root); err != nil {
			t.Errorf("removing Bazel's files: %v", err)
		}
	})
	return b
}

// CopyWorkspace copies testdata/name into a fresh directory and makes it the
// workspace later commands run in. It returns the copy's path. A copy,
// because Bazel writes bazel-* symlinks into its workspace.
func (b *Bazel) CopyWorkspace(name string) string {
	b.t.Helper()
	dst := filepath.Join(b.root, "workspace")
	if err := os.RemoveAll(dst); err != nil {
		b.t.Fatal(err)
	}
	if err := os.CopyFS(dst, os.DirFS(filepath.Join(b.testdata, name))); err != nil {
		b.t.Fatalf("copying workspace %s: %v", name, err)
	}
	b.workspace = dst
	return dst
}

// Workspace is the directory commands run in.
func (b *Bazel) Workspace() string { return b.workspace }

// BinPath is the path of rel (e.g. "derived/summary.txt") under bazel-bin.
func (b *Bazel) BinPath(rel string) string {
	return filepath.Join(b.workspace, "bazel-bin", filepath.FromSlash(rel))
}

// TestLogPath is the path of the log of the test target at package path
// rel (e.g. "tests/fail_test") under bazel-testlogs.
func (b *Bazel) TestLogPath(rel string) string {
	return filepath.Join(b.workspace, "bazel-testlogs", filepath.FromSlash(rel), "test.log")
}

// startupFlags keep each test's Bazel server private and short-lived. The
// system rc (/etc/bazel/bazelrc) stays: Debian's Bazel needs its install
// base settings. The user's and the workspace's rc files could change what
// is built, so they are off.
func (b *Bazel) startupFlags() []string {
	return []string{
		"--output_user_root=" + filepath.Join(b.root, "out"),
		"--max_idle_secs=60", // no server outlives a killed test for long
		"--nohome_rc",
		"--noworkspace_rc",
	}
}

// buildFlags make a build work offline and print plain text.
func (b *Bazel) buildFlags() []string {
	flags := []string{
		"--color=no",
		"--curses=no",
		"--noshow_progress",
		"--nosandbox_debug", // the system rc turns it on; it floods the output
	}
	for _, repo := range overriddenRepositories {
		flags = append(flags, fmt.Sprintf("--override_repository=%s=%s", repo, filepath.Join(b.testdata, "bazel_overrides", repo)))
	}
	return flags
}

// takesBuildFlags lists the commands that accept build options.
var takesBuildFlags = map[string]bool{
	"build": true, "test": true, "run": true, "coverage": true, "cquery": true, "aquery": true,
}

// Result is what one Bazel command printed.
type Result struct {
	// Output is stdout and stderr, interleaved.
	Output string
	// Processes is the "N processes: ..." summary; zero if there was none.
	Processes Processes
}

// Run runs one Bazel command in the workspace and returns its output, with
// an error if Bazel exited non-zero.
func (b *Bazel) Run(command string, flags ...string) (Result, error) {
	b.t.Helper()
	if b.workspace == "" {
		b.t.Fatal("bazeltest: CopyWorkspace must come before Run")
	}
	args := append(b.startupFlags(), command)
	if takesBuildFlags[command] {
		args = append(args, b.buildFlags()...)
	}
	args = append(args, flags...)

	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.bin, args...)
	cmd.Dir = b.workspace
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	res := Result{Output: string(out)}
	if p, perr := ParseProcesses(res.Output); perr == nil {
		res.Processes = p
	}
	if err != nil {
		return res, fmt.Errorf("bazel %s: %w", strings.Join(append([]string{command}, flags...), " "), err)
	}
	return res, nil
}

// MustRun is Run that fails the test, showing Bazel's output, on error.
func (b *Bazel) MustRun(command string, flags ...string) Result {
	b.t.Helper()
	res, err := b.Run(command, flags...)
	if err != nil {
		b.t.Fatalf("%v\n%s", err, res.Output)
	}
	return res
}

// Build runs `bazel build` with flags (targets included) and fails the test
// if the build fails.
func (b *Bazel) Build(flags ...string) Result {
	b.t.Helper()
	return b.MustRun("build", flags...)
}

// Test runs `bazel test` with flags (targets included) and fails the test
// if the build fails or a test does not pass.
func (b *Bazel) Test(flags ...string) Result {
	b.t.Helper()
	return b.MustRun("test", flags...)
}

// Clean runs `bazel clean`, dropping local outputs and the local action
// cache, so the next build must get everything from the remote cache.
func (b *Bazel) Clean() {
	b.t.Helper()
	b.MustRun("clean")
}

// Shutdown stops the Bazel server. It is safe to call more than once and
// before any command ran.
func (b *Bazel) Shutdown() {
	// The server belongs to the workspace directory (its output base is
	// named after it), so shutdown must run there.
	if b.workspace == "" {
		return
	}
	if _, err := os.Stat(filepath.Join(b.root, "out")); errors.Is(err, os.ErrNotExist) {
		return // no command ever started a server
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.bin, append(b.startupFlags(), "shutdown")...)
	cmd.Dir = b.workspace
	if out, err := cmd.CombinedOutput(); err != nil {
		b.t.Logf("bazel shutdown: %v\n%s", err, out)
	}
}
