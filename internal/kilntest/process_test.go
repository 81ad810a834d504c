package kilntest

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
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

// fakeKiln listens like kiln, prints the same line, echoes its arguments
// to stderr, and exits 0 on SIGTERM.
func fakeKiln() {
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
	fmt.Fprintf(os.Stderr, "args: %s\n", strings.Join(os.Args[1:], " "))
	fmt.Println("Metrics: http://127.0.0.1:1/metrics")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	fmt.Printf("kiln is up. Point Bazel at it with --remote_cache=grpc://%s\n", lis.Addr())
	<-sig
	os.Exit(0)
}

func startFake(t *testing.T, opts Options) *Server {
	t.Helper()
	t.Setenv(fakeKilnEnv, "1")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	opts.Binary = exe
	return Start(t, opts)
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
