package kilntest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeKilnEnv makes this test binary act as a stand-in for `kiln up`, so the
// process handling is tested without building kiln.
const fakeKilnEnv = "KILNTEST_FAKE_KILN"

func TestMain(m *testing.M) {
	if os.Getenv(fakeKilnEnv) == "1" {
		fakeKiln()
		return
	}
	os.Exit(m.Run())
}

// fakeKiln listens like kiln, echoes its arguments, prints the same lines
// (the banner of a server, the start-up log line of a worker), and exits 0
// on SIGTERM. The arguments go before the line that says it is ready, on
// the same stream (stdout for a server's banner, stderr for a worker's
// log line), so that they are in Output when Start returns: the two
// streams are read apart, and one could lag behind the other.
func fakeKiln() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	argsOut := os.Stdout
	if os.Args[1] == "worker" {
		argsOut = os.Stderr
	}
	fmt.Fprintf(argsOut, "args: %s\n", strings.Join(os.Args[1:], " "))
	if os.Args[1] == "worker" {
		fmt.Fprintln(os.Stderr, `time=2026-01-01T00:00:00Z level=INFO msg="worker started" concurrency=1`)
		<-sig
		os.Exit(0)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	fmt.Println("Metrics: http://127.0.0.1:1/metrics")
	args := strings.Join(os.Args[1:], " ")
	if !strings.Contains(args, "--roles=scheduler") {
		fmt.Printf("kiln is up. Point Bazel at it with --remote_cache=grpc://%s\n", lis.Addr())
	}
	if strings.Contains(args, "scheduler") || strings.Contains(args, "--workers") {
		fmt.Printf("  --remote_executor=grpc://%s\n", lis.Addr())
	}
	<-sig
	os.Exit(0)
}

func startFake(t *testing.T, opts Options) *Server {
	t.Helper()
	opts.Binary = fakeBinary(t)
	return Start(t, opts)
}

func fakeBinary(t *testing.T) string {
	t.Helper()
	t.Setenv(fakeKilnEnv, "1")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func TestStartReadsAddressAndStops(t *testing.T) {
	s := startFake(t, Options{Args: []string{"--cas-max-size=4MiB"}})
	conn, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatalf("dialling the printed address %q: %v", s.Addr, err)
	}
	conn.Close()
	if got := s.RemoteCacheFlag(); got != "--remote_cache=grpc://"+s.Addr {
		t.Errorf("RemoteCacheFlag() = %q", got)
	}
	for _, want := range []string{"up ", "--listen=127.0.0.1:0", "--data-dir=" + s.DataDir, "--cas-max-size=4MiB"} {
		if !strings.Contains(s.Output(), want) {
			t.Errorf("kiln was not started with %q; output:\n%s", want, s.Output())
		}
	}
	if got := s.MetricsAddr(); got != "127.0.0.1:1" {
		t.Errorf("MetricsAddr() = %q, want 127.0.0.1:1", got)
	}
	s.Stop()
	if !s.hasExited() {
		t.Fatal("Stop returned before the process exited")
	}
	if _, err := net.Dial("tcp", s.Addr); err == nil {
		t.Error("the address still accepts connections after Stop")
	}
}

func TestKillAndRestartOnSameDataDir(t *testing.T) {
	s := startFake(t, Options{})
	s.Kill()
	if _, err := net.Dial("tcp", s.Addr); err == nil {
		t.Error("the address still accepts connections after Kill")
	}
	if !strings.Contains(s.waitErr.Error(), "killed") {
		t.Errorf("process ended with %v, want killed", s.waitErr)
	}
	again := startFake(t, Options{DataDir: s.DataDir})
	if again.DataDir != s.DataDir || !strings.Contains(again.Output(), "--data-dir="+s.DataDir) {
		t.Errorf("restart did not reuse data dir %s:\n%s", s.DataDir, again.Output())
	}
}

func TestStartServeWithoutCASReadsExecutorAddress(t *testing.T) {
	s := StartServe(t, []string{"scheduler"}, Options{Binary: fakeBinary(t)})
	if !strings.Contains(s.Output(), "serve --roles=scheduler --listen=127.0.0.1:0") {
		t.Errorf("kiln was not started as a scheduler; output:\n%s", s.Output())
	}
	conn, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatalf("dialling the printed address %q: %v", s.Addr, err)
	}
	conn.Close()
	if got, want := s.RemoteExecutorFlag(), "--remote_executor=grpc://"+s.Addr; got != want {
		t.Errorf("RemoteExecutorFlag() = %q, want %q", got, want)
	}
}

func TestUpWithWorkersPrintsExecutorFlag(t *testing.T) {
	s := startFake(t, Options{Args: []string{"--workers=2"}})
	if got, want := s.RemoteExecutorFlag(), "--remote_executor=grpc://"+s.Addr; got != want {
		t.Errorf("RemoteExecutorFlag() = %q, want %q", got, want)
	}
}

func TestStartWorkerWaitsForStartAndStops(t *testing.T) {
	w := StartWorker(t, WorkerOptions{Scheduler: "127.0.0.1:1", CAS: "127.0.0.1:2", Concurrency: 3, Binary: fakeBinary(t)})
	// StartWorker returns only after the log line, which the fake prints
	// after its arguments.
	if !strings.Contains(w.Output(), "worker started") {
		t.Errorf("StartWorker returned before the worker said it started:\n%s", w.Output())
	}
	want := "args: worker --scheduler=grpc://127.0.0.1:1 --data-dir=" + w.DataDir + " --cas=grpc://127.0.0.1:2 --concurrency=3"
	if !strings.Contains(w.Output(), want) {
		t.Errorf("output lacks %q:\n%s", want, w.Output())
	}
	dirs, err := w.ActionDirs()
	if err != nil || len(dirs) != 0 {
		t.Errorf("ActionDirs() = %v, %v before any action", dirs, err)
	}
	if err := os.MkdirAll(filepath.Join(w.DataDir, "actions", "lease-1", "root"), 0o755); err != nil {
		t.Fatal(err)
	}
	dirs, err = w.ActionDirs()
	if err != nil || len(dirs) != 1 || filepath.Base(dirs[0]) != "lease-1" {
		t.Errorf("ActionDirs() = %v, %v; want the one action directory", dirs, err)
	}
	w.Stop()
	if !w.Exited() {
		t.Error("Stop returned before the worker exited")
	}
}

func TestProcessesIn(t *testing.T) {
	dir := t.TempDir()
	inside := filepath.Join(dir, "actions", "a", "root")
	if err := os.MkdirAll(inside, 0o755); err != nil {
		t.Fatal(err)
	}
	// A group leader with a child, as a runner starts an action.
	cmd := exec.Command("sh", "-c", "sleep 60 & wait")
	cmd.Dir = inside
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	leader := cmd.Process.Pid
	defer func() { syscall.Kill(-leader, syscall.SIGKILL); cmd.Wait() }()

	var procs []ProcInfo
	// The forked child shows sh's command line until it has exec'd sleep.
	eventually(t, "sh has started sleep", func() bool {
		var err error
		if procs, err = ProcessesIn(dir); err != nil {
			t.Fatal(err)
		}
		for _, p := range procs {
			if p.Pid != leader && p.Cmdline == "sleep 60" {
				return true
			}
		}
		return false
	})
	if len(procs) != 2 {
		t.Fatalf("ProcessesIn(%s) = %v, want sh and sleep", dir, procs)
	}
	for _, p := range procs {
		if p.Pgid != leader || p.Leader() != (p.Pid == leader) {
			t.Errorf("%v: want group %d, leader only if it is %d", p, leader, leader)
		}
		if p.Pid != leader && p.Cmdline != "sleep 60" {
			t.Errorf("%v: the child's command line should be \"sleep 60\"", p)
		}
	}
	// A directory whose name is a prefix of the processes' is not theirs.
	prefix := filepath.Join(dir, "actions", "a", "r")
	if err := os.Mkdir(prefix, 0o755); err != nil {
		t.Fatal(err)
	}
	if procs, err := ProcessesIn(prefix); err != nil || len(procs) != 0 {
		t.Errorf("ProcessesIn(%s) = %v, %v; the processes run in %s", prefix, procs, err, inside)
	}
	syscall.Kill(-leader, syscall.SIGKILL)
	cmd.Wait()
	eventually(t, "the killed processes are gone", func() bool {
		procs, err := ProcessesIn(dir)
		if err != nil {
			t.Fatal(err)
		}
		return len(procs) == 0
	})
}

// eventually polls cond until it holds, failing t if it still does not
// after a generous while: a bound on a hang, not on speed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after 30s until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
