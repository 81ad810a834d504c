package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/kilnbuild/kiln/internal/digest"
	"github.com/kilnbuild/kiln/worker/cgroup"
)

// Hostile actions through the real Execution path: `kiln up` as shipped
// (the sandbox is the default runner), REAPI clients, one action trying
// to get out at a time. Each test checks that the host is untouched, that
// the ExecuteResponse says what happened, and that the worker then still
// runs an ordinary action.

// hostileLimits are what the worker of these tests allows an action.
const (
	hostilePids   = 128
	hostileMemory = "128MiB"
)

// hostileCluster is a `kiln up` with two local worker slots.
type hostileCluster struct {
	t       *testing.T
	conn    *grpc.ClientConn
	dataDir string
	seq     int
}

func startHostileCluster(t *testing.T) *hostileCluster {
	t.Helper()
	dataDir := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "kiln.yaml")
	cfg := fmt.Sprintf("worker:\n  sandbox:\n    limits: {pids: %d, memory: %s}\n", hostilePids, hostileMemory)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	u := startUp(t, "--config="+cfgPath, "--listen=127.0.0.1:0", "--metrics-listen=", "--data-dir="+dataDir,
		"--workers=2", "--no-worker-grace=1s")
	return &hostileCluster{t: t, conn: dial(t, u.grpcAddr), dataDir: dataDir}
}

// run executes script with sh in an input root holding root, and returns
// the response; an Execute call refused outright gives a response with
// its status. Nothing is cached: each run is a run.
func (c *hostileCluster) run(script string, root *repb.Directory, tweak func(*repb.Command, *repb.Action)) *repb.ExecuteResponse {
	c.t.Helper()
	c.seq++
	cmd := &repb.Command{
		Arguments:            []string{"sh", "-c", script},
		EnvironmentVariables: append([]*repb.Command_EnvironmentVariable{{Name: "DATA", Value: c.dataDir}}, testEnv...),
	}
	action := &repb.Action{DoNotCache: true, Timeout: durationpb.New(time.Minute),
		// Distinct actions, never merged with one another.
		Salt: []byte(strconv.Itoa(c.seq))}
	if tweak != nil {
		tweak(cmd, action)
	}
	if root == nil {
		root = &repb.Directory{}
	}
	action.InputRootDigest = uploadProto(c.t, c.conn, root).Proto()
	action.CommandDigest = uploadProto(c.t, c.conn, cmd).Proto()
	ex, err := tryExecute(context.Background(), c.conn, uploadProto(c.t, c.conn, action), nil)
	if st, ok := status.FromError(errors.Unwrap(err)); ok && err != nil && st.Code() != codes.Unknown {
		// Refused before it was queued: the call's own status says why.
		return &repb.ExecuteResponse{Status: st.Proto()}
	}
	if err != nil {
		c.t.Fatal(err)
	}
	return ex.response
}

// stdout is the stdout of a response's result.
func (c *hostileCluster) stdout(resp *repb.ExecuteResponse) string {
	c.t.Helper()
	return readBlob(c.t, c.conn, resp.GetResult().GetStdoutDigest())
}

// stillServes runs an ordinary action: the worker survived.
func (c *hostileCluster) stillServes() {
	c.t.Helper()
	resp := c.run("echo still serving", nil, nil)
	if codes.Code(resp.GetStatus().GetCode()) != codes.OK || resp.GetResult().GetExitCode() != 0 || c.stdout(resp) != "still serving\n" {
		c.t.Fatalf("the worker does not run an ordinary action after the hostile one: %v", resp)
	}
}

func wantStatus(t *testing.T, resp *repb.ExecuteResponse, code codes.Code, msg string) {
	t.Helper()
	if st := resp.GetStatus(); codes.Code(st.GetCode()) != code || !strings.Contains(st.GetMessage(), msg) {
		t.Errorf("status %v %q, want %v saying %q", codes.Code(st.GetCode()), st.GetMessage(), code, msg)
	}
}

// hostProcessesWith lists the host processes whose command line holds
// token.
func hostProcessesWith(t *testing.T, token string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && strings.Contains(string(b), token) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// uniqueSleep is a sleep whose command line no other process has.
func uniqueSleep() (cmd, token string) {
	token = fmt.Sprintf("1000.%d%09d", os.Getpid(), time.Now().UnixNano()%1e9)
	return "sleep " + token, token
}

func TestHostileWritesOutsideItsInputRoot(t *testing.T) {
	c := startHostileCluster(t)
	tag := fmt.Sprintf("kiln-hostile-%d", time.Now().UnixNano())
	targets := []string{
		"../../" + tag,                          // beside the action's directory
		"/" + tag, "/etc/" + tag, "/usr/" + tag, // the host's root and toolchain
		"$DATA/" + tag, "$DATA/worker/" + tag, "$DATA/worker/cache/" + tag, "$DATA/cas/" + tag, // the worker's data
	}
	var script strings.Builder
	for _, p := range targets {
		fmt.Fprintf(&script, "(echo pwned > %s) 2>/dev/null && echo ESCAPED %s\n", p, p)
	}
	// /tmp is writable: the action's own, not the host's.
	fmt.Fprintf(&script, "echo mine > /tmp/%s && echo wrote-tmp\n", tag)
	resp := c.run(script.String(), nil, nil)
	wantStatus(t, resp, codes.OK, "")
	if got := c.stdout(resp); got != "wrote-tmp\n" || resp.GetResult().GetExitCode() != 0 {
		t.Errorf("exit code %d, stdout:\n%s", resp.GetResult().GetExitCode(), got)
	}
	for _, p := range []string{
		filepath.Join(c.dataDir, "worker", "actions", tag), "/" + tag, "/etc/" + tag, "/usr/" + tag,
		filepath.Join(c.dataDir, tag), filepath.Join(c.dataDir, "worker", tag), filepath.Join(c.dataDir, "worker", "cache", tag),
		filepath.Join(c.dataDir, "cas", tag), filepath.Join(os.TempDir(), tag),
	} {
		if _, err := os.Lstat(p); err == nil {
			os.Remove(p)
			t.Errorf("the action wrote %s on the host", p)
		}
	}
	c.stillServes()
}

func TestHostileReadsAnotherRunningActionsFiles(t *testing.T) {
	c := startHostileCluster(t)
	secret := fmt.Sprintf("s3cret-%d", time.Now().UnixNano())
	// The victim writes a secret in its input root and waits for the test
	// to release it, through a file in that same root.
	victim := make(chan *repb.ExecuteResponse, 1)
	go func() {
		victim <- c.run("echo "+secret+" > secret.txt; while [ ! -e release ]; do sleep 0.05; done; echo released", nil, nil)
	}()
	var victimRoot string
	for deadline := time.Now().Add(waitBound); victimRoot == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the victim action did not start")
		}
		if found, _ := filepath.Glob(filepath.Join(c.dataDir, "worker", "actions", "*", "root", "secret.txt")); len(found) == 1 {
			victimRoot = filepath.Dir(found[0])
		}
	}
	// The thief knows the victim's host path, and looks everywhere.
	resp := c.run(fmt.Sprintf(`cat %[1]s/secret.txt; ls %[1]s; ls $DATA/worker/actions; grep -rsl %[2]s / --exclude-dir=proc --exclude-dir=usr; cat /proc/*/environ | grep -a %[2]s; echo looked`,
		victimRoot, secret[:6]), nil, nil)
	if got := c.stdout(resp); strings.Contains(got, secret) || !strings.HasSuffix(got, "looked\n") {
		t.Errorf("the thief's stdout:\n%s", got)
	}
	if err := os.WriteFile(filepath.Join(victimRoot, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if resp := <-victim; c.stdout(resp) != "released\n" {
		t.Errorf("the victim: %v", resp)
	}
	c.stillServes()
}

func TestHostileLeavesABackgroundProcess(t *testing.T) {
	c := startHostileCluster(t)
	sleep, token := uniqueSleep()
	resp := c.run(sleep+" & setsid "+sleep+" & echo left them", nil, nil)
	wantStatus(t, resp, codes.OK, "")
	if c.stdout(resp) != "left them\n" || resp.GetResult().GetExitCode() != 0 {
		t.Errorf("response %v", resp)
	}
	// Gone by the time the result is out.
	if pids := hostProcessesWith(t, token); len(pids) > 0 {
		t.Errorf("processes outlived the action: %v", pids)
	}
	c.stillServes()
}

func TestHostileSleepsPastItsTimeout(t *testing.T) {
	c := startHostileCluster(t)
	sleep, token := uniqueSleep()
	resp := c.run("echo going to sleep; "+sleep+" & "+sleep, nil, func(_ *repb.Command, a *repb.Action) {
		a.Timeout = durationpb.New(time.Second)
	})
	wantStatus(t, resp, codes.DeadlineExceeded, "timed out after 1s")
	if c.stdout(resp) != "going to sleep\n" {
		t.Errorf("the log before the timeout is lost: %v", resp)
	}
	if pids := hostProcessesWith(t, token); len(pids) > 0 {
		t.Errorf("processes outlived the timed-out action: %v", pids)
	}
	c.stillServes()
}

func TestHostileForkBomb(t *testing.T) {
	c := startHostileCluster(t)
	sleep, token := uniqueSleep()
	done := make(chan *repb.ExecuteResponse, 1)
	go func() {
		// The bomb's processes are copies of this bash, token included.
		done <- c.run("bash -c 'bomb() { bomb | bomb & }; bomb & exec "+sleep+"'", nil, func(_ *repb.Command, a *repb.Action) {
			a.Timeout = durationpb.New(3 * time.Second)
		})
	}()
	most := 0
	var resp *repb.ExecuteResponse
	for resp == nil {
		select {
		case resp = <-done:
		case <-time.After(20 * time.Millisecond):
			most = max(most, len(hostProcessesWith(t, token)))
		}
	}
	wantStatus(t, resp, codes.DeadlineExceeded, "timed out")
	// sh, and the bomb within its limit (the sampling may see fewer).
	if most == 0 || most > hostilePids+2 {
		t.Errorf("the bomb had %d processes at most; the limit is %d", most, hostilePids)
	}
	if pids := hostProcessesWith(t, token); len(pids) > 0 {
		t.Errorf("%d processes outlived the bomb", len(pids))
	}
	c.stillServes()
}

func TestHostileAllocatesPastItsMemoryLimit(t *testing.T) {
	if _, err := cgroup.Available(); err != nil {
		if os.Getenv("KILN_REQUIRE_CGROUP") == "1" {
			t.Fatal(err)
		}
		t.Skipf("memory limits need cgroups: %v", err)
	}
	c := startHostileCluster(t)
	resp := c.run(`echo allocating; python3 -c 'x = b"x" * (1 << 30)'`, nil, nil)
	wantStatus(t, resp, codes.ResourceExhausted, "memory limit of "+hostileMemory)
	if c.stdout(resp) != "allocating\n" || resp.GetResult().GetExitCode() == 0 {
		t.Errorf("response %v: want the log and a failed exit", resp)
	}
	c.stillServes()
	// A smaller limit the action asks for itself (the worker offers
	// memory=*): 64MiB fit the worker's limit, not the action's 32MiB.
	resp = c.run(`python3 -c 'x = b"x" * (64 << 20)'`, nil, func(_ *repb.Command, a *repb.Action) {
		a.Platform = &repb.Platform{Properties: []*repb.Platform_Property{{Name: "memory", Value: "32MiB"}}}
	})
	wantStatus(t, resp, codes.ResourceExhausted, "memory limit of 32MiB")
	c.stillServes()
}

// An action may ask for a lower process limit than the worker's.
func TestHostileAsksForItsOwnProcessLimit(t *testing.T) {
	c := startHostileCluster(t)
	forkCount := `python3 -c '
import os, time
n = 0
while n < 100:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(10)
        os._exit(0)
    n += 1
print(n)'`
	resp := c.run(forkCount, nil, func(_ *repb.Command, a *repb.Action) {
		a.Platform = &repb.Platform{Properties: []*repb.Platform_Property{{Name: "pids", Value: "20"}}}
	})
	wantStatus(t, resp, codes.OK, "")
	if n, err := strconv.Atoi(strings.TrimSpace(c.stdout(resp))); err != nil || n == 0 || n >= 20 {
		t.Errorf("the action forked %q processes; it asked for 20 at most", c.stdout(resp))
	}
	// A malformed limit: refused, naming the property.
	resp = c.run("true", nil, func(_ *repb.Command, a *repb.Action) {
		a.Platform = &repb.Platform{Properties: []*repb.Platform_Property{{Name: "pids", Value: "lots"}}}
	})
	wantStatus(t, resp, codes.InvalidArgument, "pids=lots")
	c.stillServes()
}

// digestOf is the SHA-256 digest of s.
func digestOf(s string) digest.Digest { return digest.OfBytes(repb.DigestFunction_SHA256, []byte(s)) }
