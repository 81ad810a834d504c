package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	bspb "google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/internal/digest"
	"github.com/kilnbuild/kiln/internal/kilntest"
)

// The end-to-end tests of remote execution through the wiring: a REAPI
// client uploads an action to the CAS, runs it with Execute and reads what
// it produced, against `kiln up` and against separate serve and worker
// commands. They run the commands in this process (run()), on loopback.

// waitBound bounds the waits for work that should take milliseconds; it is
// a hang guard, not a speed check.
const waitBound = time.Minute

// upload stores data in the CAS behind conn with ByteStream.
func upload(t *testing.T, conn grpc.ClientConnInterface, data []byte) digest.Digest {
	t.Helper()
	d, err := kilntest.NewClient(conn).Upload(context.Background(), data)
	if err != nil {
		t.Fatalf("uploading %d bytes: %v", len(data), err)
	}
	return d
}

// uploadProto stores m in its canonical encoding.
func uploadProto(t *testing.T, conn grpc.ClientConnInterface, m proto.Message) digest.Digest {
	t.Helper()
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return upload(t, conn, data)
}

// readBlob reads a whole blob with ByteStream.
func readBlob(t *testing.T, conn grpc.ClientConnInterface, d *repb.Digest) string {
	t.Helper()
	dd, err := digest.FromProto(repb.DigestFunction_SHA256, d)
	if err != nil {
		t.Fatal(err)
	}
	data, err := kilntest.NewClient(conn).Read(context.Background(), dd)
	if err != nil {
		t.Fatalf("reading %s: %v", dd, err)
	}
	return string(data)
}

// readStream reads a ByteStream resource (a live log) to its end.
func readStream(ctx context.Context, conn grpc.ClientConnInterface, name string) (string, error) {
	stream, err := bspb.NewByteStreamClient(conn).Read(ctx, &bspb.ReadRequest{ResourceName: name})
	if err != nil {
		return "", err
	}
	var got []byte
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return string(got), nil
		}
		if err != nil {
			return string(got), err
		}
		got = append(got, resp.GetData()...)
	}
}

// testEnv is the whole environment of test commands: nothing of the
// worker's leaks into an action.
var testEnv = []*repb.Command_EnvironmentVariable{{Name: "PATH", Value: "/usr/bin:/bin"}}

// uppercaseAction uploads an action that prints its input file and writes
// an uppercase copy of it to out/upper.txt, and returns its digest.
func uppercaseAction(t *testing.T, cas grpc.ClientConnInterface, input string) digest.Digest {
	t.Helper()
	in := upload(t, cas, []byte(input))
	root := uploadProto(t, cas, &repb.Directory{Files: []*repb.FileNode{{Name: "in.txt", Digest: in.Proto()}}})
	cmd := uploadProto(t, cas, &repb.Command{
		Arguments:            []string{"sh", "-c", "cat in.txt && echo to-stderr >&2 && mkdir -p out && tr a-z A-Z < in.txt > out/upper.txt"},
		EnvironmentVariables: testEnv,
		OutputPaths:          []string{"out/upper.txt"},
	})
	return uploadProto(t, cas, &repb.Action{CommandDigest: cmd.Proto(), InputRootDigest: root.Proto()})
}

// execution is what one Execute call streamed.
type execution struct {
	name     string // the operation name
	metadata *repb.ExecuteOperationMetadata
	response *repb.ExecuteResponse
}

// execute calls Execute for action and reads the stream until the
// operation is done.
func execute(t *testing.T, ctx context.Context, conn grpc.ClientConnInterface, action digest.Digest) execution {
	t.Helper()
	ex, err := tryExecute(ctx, conn, action, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// tryExecute is execute for any goroutine: onMetadata, if not nil, sees
// each metadata as it arrives.
func tryExecute(ctx context.Context, conn grpc.ClientConnInterface, action digest.Digest, onMetadata func(*repb.ExecuteOperationMetadata)) (execution, error) {
	ctx, cancel := context.WithTimeout(ctx, waitBound)
	defer cancel()
	stream, err := repb.NewExecutionClient(conn).Execute(ctx, &repb.ExecuteRequest{
		ActionDigest:   action.Proto(),
		DigestFunction: repb.DigestFunction_SHA256,
	})
	if err != nil {
		return execution{}, fmt.Errorf("execute: %w", err)
	}
	var ex execution
	for {
		op, err := stream.Recv()
		if err != nil {
			return ex, fmt.Errorf("the Execute stream ended before the operation was done: %w", err)
		}
		ex.name = op.GetName()
		md := &repb.ExecuteOperationMetadata{}
		if err := op.GetMetadata().UnmarshalTo(md); err != nil {
			return ex, fmt.Errorf("operation metadata is not ExecuteOperationMetadata: %w", err)
		}
		ex.metadata = md
		if onMetadata != nil {
			onMetadata(md)
		}
		if !op.GetDone() {
			continue
		}
		ex.response = &repb.ExecuteResponse{}
		if err := op.GetResponse().UnmarshalTo(ex.response); err != nil {
			return ex, fmt.Errorf("operation response is not an ExecuteResponse: %w (error %v)", err, op.GetError())
		}
		return ex, nil
	}
}

// checkUppercaseRan checks the response of uppercaseAction on "hello kiln\n"
// and returns its result.
func checkUppercaseRan(t *testing.T, cas grpc.ClientConnInterface, ex execution, wantCached bool) *repb.ActionResult {
	t.Helper()
	resp := ex.response
	if codes.Code(resp.GetStatus().GetCode()) != codes.OK {
		t.Fatalf("status %v: %s", resp.GetStatus(), resp.GetMessage())
	}
	if resp.GetCachedResult() != wantCached {
		t.Errorf("cached_result = %v, want %v", resp.GetCachedResult(), wantCached)
	}
	r := resp.GetResult()
	if r.GetExitCode() != 0 {
		t.Fatalf("exit code %d, stderr %q", r.GetExitCode(), readBlob(t, cas, r.GetStderrDigest()))
	}
	if got := readBlob(t, cas, r.GetStdoutDigest()); got != "hello kiln\n" {
		t.Errorf("stdout = %q, want the input", got)
	}
	if got := readBlob(t, cas, r.GetStderrDigest()); got != "to-stderr\n" {
		t.Errorf("stderr = %q", got)
	}
	if len(r.GetOutputFiles()) != 1 || r.GetOutputFiles()[0].GetPath() != "out/upper.txt" {
		t.Fatalf("output files %v, want out/upper.txt", r.GetOutputFiles())
	}
	if got := readBlob(t, cas, r.GetOutputFiles()[0].GetDigest()); got != "HELLO KILN\n" {
		t.Errorf("out/upper.txt = %q", got)
	}
	if r.GetExecutionMetadata().GetWorker() == "" {
		t.Error("execution metadata names no worker")
	}
	return r
}

func TestUpExecutesActionsOnItsLocalWorkers(t *testing.T) {
	u := startUp(t, "--listen=127.0.0.1:0", "--metrics-listen=", "--data-dir="+t.TempDir(), "--workers=2")
	if u.execAddr != u.grpcAddr {
		t.Fatalf("--remote_executor line names %q, want the one endpoint %q", u.execAddr, u.grpcAddr)
	}
	if !strings.Contains(strings.Join(u.banner, "\n"), "Workers: 2 local slots") {
		t.Errorf("the banner does not say how many workers run:\n%s", strings.Join(u.banner, "\n"))
	}
	conn := dial(t, u.grpcAddr)
	ctx := context.Background()

	caps, err := repb.NewCapabilitiesClient(conn).GetCapabilities(ctx, &repb.GetCapabilitiesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !caps.GetExecutionCapabilities().GetExecEnabled() {
		t.Error("kiln up does not advertise remote execution")
	}
	if got := caps.GetCacheCapabilities().GetSymlinkAbsolutePathStrategy(); got != repb.SymlinkAbsolutePathStrategy_ALLOWED {
		t.Errorf("symlink_absolute_path_strategy = %v, want ALLOWED (what the workers are set to)", got)
	}

	action := uppercaseAction(t, conn, "hello kiln\n")
	first := execute(t, ctx, conn, action)
	r := checkUppercaseRan(t, conn, first, false)

	// The live stdout stream named in the metadata reads the same bytes.
	if name := first.metadata.GetStdoutStreamName(); name == "" {
		t.Error("the metadata names no stdout stream")
	} else if got, err := readStream(ctx, conn, name); err != nil || got != "hello kiln\n" {
		t.Errorf("reading %s = %q, %v; want the stdout", name, got, err)
	}

	// The worker wrote the result to the same action cache that Execute
	// and GetActionResult look in.
	second := execute(t, ctx, conn, action)
	if r2 := checkUppercaseRan(t, conn, second, true); !proto.Equal(r2.GetStdoutDigest(), r.GetStdoutDigest()) {
		t.Errorf("the cached result has another stdout than the run")
	}
	if _, err := repb.NewActionCacheClient(conn).GetActionResult(ctx, &repb.GetActionResultRequest{ActionDigest: action.Proto()}); err != nil {
		t.Errorf("GetActionResult after the run: %v", err)
	}
}

func TestUpStreamsTheLogOfARunningAction(t *testing.T) {
	// The process runner: the action waits for a file the test makes
	// outside its input root, which a sandbox hides.
	u := startUp(t, "--listen=127.0.0.1:0", "--metrics-listen=", "--data-dir="+t.TempDir(), "--workers=1", "--runner=process")
	conn := dial(t, u.grpcAddr)
	ctx := context.Background()

	// The action prints a line, then waits for a file outside its input
	// root (the process runner has no sandbox) that the test creates once
	// it has read that line live.
	release := filepath.Join(t.TempDir(), "release")
	cmd := uploadProto(t, conn, &repb.Command{
		Arguments:            []string{"sh", "-c", "echo started; while [ ! -e " + release + " ]; do sleep 0.01; done; echo finished"},
		EnvironmentVariables: testEnv,
	})
	action := uploadProto(t, conn, &repb.Action{CommandDigest: cmd.Proto(), InputRootDigest: digest.OfBytes(repb.DigestFunction_SHA256, nil).Proto(), DoNotCache: true})

	streamName := make(chan string, 1)
	type outcome struct {
		ex  execution
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		ex, err := tryExecute(ctx, conn, action, func(md *repb.ExecuteOperationMetadata) {
			if md.GetStage() == repb.ExecutionStage_EXECUTING && md.GetStdoutStreamName() != "" {
				select {
				case streamName <- md.GetStdoutStreamName():
				default:
				}
			}
		})
		done <- outcome{ex, err}
	}()
	var name string
	select {
	case name = <-streamName:
	case o := <-done:
		t.Fatalf("the action finished without an EXECUTING stage naming a stream: %v, %v", o.ex.response, o.err)
	}

	readCtx, cancel := context.WithTimeout(ctx, waitBound)
	defer cancel()
	stream, err := bspb.NewByteStreamClient(conn).Read(readCtx, &bspb.ReadRequest{ResourceName: name})
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for !bytes.Contains(got, []byte("started\n")) {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("reading the live stdout before the action ended: %q, %v", got, err)
		}
		got = append(got, resp.GetData()...)
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading the live stdout: %v", err)
		}
		got = append(got, resp.GetData()...)
	}
	if string(got) != "started\nfinished\n" {
		t.Errorf("live stdout = %q, want both lines", got)
	}
	if o := <-done; o.err != nil || o.ex.response.GetResult().GetExitCode() != 0 {
		t.Errorf("result %v, %v", o.ex.response, o.err)
	}
}

// startServe runs `kiln serve` with args; its banner ends with the Data
// line when it keeps data, else with the Workers or Use line.
func startServe(t *testing.T, args ...string) (k *runningKiln, addr string) {
	t.Helper()
	k = startKiln(t, func(line string) bool {
		return strings.HasPrefix(line, "Data: ") || strings.HasPrefix(line, "Workers: ")
	}, append([]string{"serve", "--listen=127.0.0.1:0", "--metrics-listen="}, args...)...)
	if _, after, ok := strings.Cut(k.banner[0], " on grpc://"); ok {
		addr = strings.TrimSuffix(after, ".")
	}
	if addr == "" {
		t.Fatalf("kiln serve printed no address:\n%s", strings.Join(k.banner, "\n"))
	}
	return k, addr
}

func TestServeRolesAndAWorkerExecuteTogether(t *testing.T) {
	ctx := context.Background()
	_, cacheAddr := startServe(t, "--roles=cas,actioncache", "--data-dir="+t.TempDir())
	_, schedAddr := startServe(t, "--roles=scheduler", "--cas=grpc://"+cacheAddr, "--data-dir="+t.TempDir())
	workerDir := t.TempDir()
	// The process runner: the last action writes its host pid outside its
	// input root, which a sandbox hides (hostile_test.go has the sandbox).
	w := startKiln(t, func(line string) bool { return strings.HasPrefix(line, "Data: ") },
		"worker", "--scheduler=grpc://"+schedAddr, "--cas=grpc://"+cacheAddr, "--data-dir="+workerDir, "--concurrency=2", "--runner=process")
	if !strings.HasPrefix(w.banner[0], "Kiln worker ") {
		t.Errorf("the worker does not print its id first:\n%s", strings.Join(w.banner, "\n"))
	}
	cacheConn, schedConn := dial(t, cacheAddr), dial(t, schedAddr)

	for _, tc := range []struct {
		conn         *grpc.ClientConn
		exec, update bool
	}{{cacheConn, false, true}, {schedConn, true, false}} {
		caps, err := repb.NewCapabilitiesClient(tc.conn).GetCapabilities(ctx, &repb.GetCapabilitiesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if got := caps.GetExecutionCapabilities().GetExecEnabled(); got != tc.exec {
			t.Errorf("%s: exec_enabled = %v, want %v", tc.conn.Target(), got, tc.exec)
		}
		if got := caps.GetCacheCapabilities().GetActionCacheUpdateCapabilities().GetUpdateEnabled(); got != tc.update {
			t.Errorf("%s: update_enabled = %v, want %v", tc.conn.Target(), got, tc.update)
		}
	}

	action := uppercaseAction(t, cacheConn, "hello kiln\n")
	first := execute(t, ctx, schedConn, action)
	checkUppercaseRan(t, cacheConn, first, false)
	// The scheduler serves the live logs it names, though not the CAS.
	if got, err := readStream(ctx, schedConn, first.metadata.GetStdoutStreamName()); err != nil || got != "hello kiln\n" {
		t.Errorf("reading the stdout stream from the scheduler = %q, %v", got, err)
	}
	// The worker recorded the result in the remote action cache, where
	// the scheduler looks it up.
	second := execute(t, ctx, schedConn, action)
	checkUppercaseRan(t, cacheConn, second, true)

	// Stopping the worker kills what it runs.
	pidFile := filepath.Join(t.TempDir(), "pid")
	cmd := uploadProto(t, cacheConn, &repb.Command{
		Arguments:            []string{"sh", "-c", "echo $$ > " + pidFile + ".tmp && mv " + pidFile + ".tmp " + pidFile + " && exec sleep 1000"},
		EnvironmentVariables: testEnv,
	})
	sleeper := uploadProto(t, cacheConn, &repb.Action{CommandDigest: cmd.Proto(),
		InputRootDigest: digest.OfBytes(repb.DigestFunction_SHA256, nil).Proto(), DoNotCache: true})
	execCtx, cancelExec := context.WithCancel(ctx)
	defer cancelExec()
	go func() {
		stream, err := repb.NewExecutionClient(schedConn).Execute(execCtx, &repb.ExecuteRequest{ActionDigest: sleeper.Proto()})
		for err == nil {
			_, err = stream.Recv()
		}
	}()
	pid := waitForPID(t, pidFile)
	w.stop(t)
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the action (pid %d) outlived its stopped worker: kill(0) = %v", pid, err)
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if dirs, err := kilntest.ActionDirs(workerDir); err != nil || len(dirs) != 0 {
		t.Errorf("the stopped worker left action directories behind: %v %v", dirs, err)
	}
}

// waitForPID waits for path to hold a process id.
func waitForPID(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for time.Now().Before(deadline) {
		data, err := os.ReadFile(path)
		if err == nil {
			pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
			if err != nil {
				t.Fatalf("%s holds %q", path, data)
			}
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no pid in %s within %v", path, waitBound)
	return 0
}

func TestWorkerRefusesADataDirInUse(t *testing.T) {
	dir := t.TempDir()
	startKiln(t, func(line string) bool { return strings.HasPrefix(line, "Data: ") },
		"worker", "--scheduler=grpc://127.0.0.1:1", "--data-dir="+dir, "--concurrency=1")
	_, _, err := runCapture("worker", "--scheduler=grpc://127.0.0.1:1", "--data-dir="+dir, "--concurrency=1")
	if err == nil || !strings.Contains(err.Error(), "in use by another worker") {
		t.Errorf("a second worker on %s: %v, want an error saying it is in use", dir, err)
	}
}

// Capabilities advertises absolute symlinks as ALLOWED; the workers must
// then take them in input roots and outputs alike.
func TestUpWorkersAcceptAbsoluteSymlinksAsAdvertised(t *testing.T) {
	u := startUp(t, "--listen=127.0.0.1:0", "--metrics-listen=", "--data-dir="+t.TempDir(), "--workers=1")
	conn := dial(t, u.grpcAddr)
	root := uploadProto(t, conn, &repb.Directory{Symlinks: []*repb.SymlinkNode{{Name: "in", Target: "/etc/hostname"}}})
	cmd := uploadProto(t, conn, &repb.Command{
		Arguments:            []string{"sh", "-c", "readlink in && ln -s /etc out"},
		EnvironmentVariables: testEnv,
		OutputPaths:          []string{"out"},
	})
	action := uploadProto(t, conn, &repb.Action{CommandDigest: cmd.Proto(), InputRootDigest: root.Proto()})
	resp := execute(t, context.Background(), conn, action).response
	if codes.Code(resp.GetStatus().GetCode()) != codes.OK || resp.GetResult().GetExitCode() != 0 {
		t.Fatalf("an action with absolute symlinks failed: %v", resp)
	}
	if got := readBlob(t, conn, resp.GetResult().GetStdoutDigest()); got != "/etc/hostname\n" {
		t.Errorf("the input symlink reads %q", got)
	}
	links := resp.GetResult().GetOutputSymlinks()
	if len(links) != 1 || links[0].GetPath() != "out" || links[0].GetTarget() != "/etc" {
		t.Errorf("output symlinks %v, want out -> /etc", links)
	}
}
