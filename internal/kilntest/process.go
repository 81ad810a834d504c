package kilntest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// startTimeout bounds how long `kiln up` may take to print its address; a
// race-instrumented binary opening a large data dir is the slow case.
const startTimeout = time.Minute

// stopTimeout bounds a graceful stop before the process is killed.
const stopTimeout = 20 * time.Second

// Options say how to start kiln.
type Options struct {
	// DataDir is the data directory; empty means a fresh temporary one.
	// Pass an earlier Server's DataDir to restart on the same data.
	DataDir string
	// Args are extra flags after the ones Start always passes, e.g.
	// "--cas-max-size=4MiB".
	Args []string
	// Binary is the program to run; empty means Binary(t), kiln built
	// from this module.
	Binary string
}

// Server is one running `kiln up` process.
type Server struct {
	t testing.TB
	// Addr is the host:port of the gRPC endpoint, as kiln printed it.
	Addr string
	// DataDir is the data directory the process was started with.
	DataDir string

	cmd    *exec.Cmd
	output *syncBuffer // stdout and stderr, interleaved
	exited chan struct{}
	// waitErr is set before exited is closed.
	waitErr error
}

var remoteCacheLine = regexp.MustCompile(`--remote_cache=grpc://(127\.0\.0\.1:\d+)`)

// Start runs `kiln up` on 127.0.0.1 with free ports and waits until it
// prints the --remote_cache line that says it serves. The process is
// stopped when t ends; its output is logged if t failed, and a data race
// reported by a -race build fails t.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	dataDir := opts.DataDir
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	args := append([]string{
		"up",
		"--listen=127.0.0.1:0",
		"--metrics-listen=127.0.0.1:0",
		"--data-dir=" + dataDir,
	}, opts.Args...)
	bin := opts.Binary
	if bin == "" {
		bin = Binary(t)
	}
	cmd := exec.Command(bin, args...)
	// Its own process group, so Kill takes any children (runners) along,
	// as a machine crash would.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, DataDir: dataDir, cmd: cmd, output: &syncBuffer{}, exited: make(chan struct{})}
	// Captured as they come, not at exit, so that a hang still shows them.
	cmd.Stderr = s.output
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting kiln: %v", err)
	}

	addr := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.output.WriteLine(line)
			if m := remoteCacheLine.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout) // a line too long for the scanner
	}()
	go func() {
		<-scanned // Wait must not close stdout while it is being read
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(s.cleanup)

	select {
	case s.Addr = <-addr:
	case <-s.exited:
		t.Fatalf("kiln %s exited before serving: %v\n%s", strings.Join(args, " "), s.waitErr, s.Output())
	case <-time.After(startTimeout):
		t.Fatalf("kiln %s printed no --remote_cache line within %v\n%s", strings.Join(args, " "), startTimeout, s.Output())
	}
	return s
}

// RemoteCacheFlag is the Bazel flag that points at this server.
func (s *Server) RemoteCacheFlag() string { return "--remote_cache=grpc://" + s.Addr }

// Output is everything the process printed so far.
func (s *Server) Output() string { return s.output.String() }

// Dial opens a gRPC connection to the server, closed when the test ends.
// The message size limit is raised so that tests can probe the server's
// own limits rather than the client's.
func (s *Server) Dial() *grpc.ClientConn {
	s.t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+s.Addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { conn.Close() })
	return conn
}

// Stop asks the process to shut down (SIGTERM) and waits for it. It fails
// the test if kiln exits with an error or does not stop in time (it is
// killed then).
func (s *Server) Stop() {
	s.t.Helper()
	if s.hasExited() {
		return
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Errorf("signalling kiln: %v", err)
	}
	select {
	case <-s.exited:
		if s.waitErr != nil {
			s.t.Errorf("kiln exited with %v after SIGTERM\n%s", s.waitErr, s.Output())
		}
	case <-time.After(stopTimeout):
		s.t.Errorf("kiln did not stop within %v of SIGTERM; killing it\n%s", stopTimeout, s.Output())
		s.Kill()
	}
}

// Kill kills the process and its group with SIGKILL, the way a power cut
// or the OOM killer would, and waits until it is gone.
func (s *Server) Kill() {
	s.t.Helper()
	if s.hasExited() {
		return
	}
	// A negative pid signals the whole group; see Setpgid in Start.
	if err := syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		s.t.Errorf("killing kiln: %v", err)
	}
	<-s.exited
}

func (s *Server) hasExited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

func (s *Server) cleanup() {
	if !s.hasExited() {
		s.Stop()
	}
	out := s.Output()
	if strings.Contains(out, "WARNING: DATA RACE") {
		s.t.Errorf("the kiln process reported a data race:\n%s", out)
	} else if s.t.Failed() {
		s.t.Logf("kiln output (data dir %s):\n%s", s.DataDir, out)
	}
}

// syncBuffer collects the process output from two goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// WriteLine appends one line of stdout (the scanner dropped its newline).
func (b *syncBuffer) WriteLine(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fmt.Fprintln(&b.buf, line)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
