// Package redistest runs real redis-server processes for tests: each on a
// free loopback port in its own temporary directory, without persistence
// unless a test asks for it, stopped when the test ends. A test can stop
// and restart the server on the same port to act out a Redis failover.
//
// Tests that call Start are skipped when redis-server is not installed,
// unless KILN_REQUIRE_REDIS=1, which makes a missing server a failure.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RequireEnv names the variable that turns a missing redis-server from a
// skip into a failure (CI sets it, so that Redis tests cannot vanish).
const RequireEnv = "KILN_REQUIRE_REDIS"

const (
	// startAttempts bounds the retries when another process takes the
	// port between picking it and redis-server binding it.
	startAttempts = 5
	// readyTimeout guards against a server that never answers; it says
	// nothing about speed.
	readyTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
)

// Server is one redis-server process. Its methods are safe for concurrent
// use.
type Server struct {
	tb    testing.TB
	bin   string
	dir   string
	extra []string

	mu      sync.Mutex
	port    int
	cmd     *exec.Cmd
	exited  chan struct{}
	stopped bool
}

// Start runs a redis-server on 127.0.0.1 with no persistence (--save ""
// --appendonly no) and stops it when the test ends. extraArgs are appended
// to the command line, e.g. "--appendonly", "yes" for a test that needs
// data to survive a restart.
func Start(tb testing.TB, extraArgs ...string) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			tb.Fatalf("redis-server is not installed and %s=1: %v", RequireEnv, err)
		}
		tb.Skipf("redis-server is not installed (set %s=1 to fail instead): %v", RequireEnv, err)
	}
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir(), extra: extraArgs}
	tb.Cleanup(s.Stop)
	var lastErr error
	for range startAttempts {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("redistest: picking a port: %v", err)
		}
		if lastErr = s.start(port); lastErr == nil {
			return s
		}
	}
	tb.Fatalf("redistest: starting redis-server: %v", lastErr)
	return nil
}

// freePort asks the kernel for a free loopback port. redis-server has no
// "--port 0", so the port is released and handed to it, and start retries
// if someone else grabbed it meanwhile.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// Client returns a new client of the server, closed when the test ends.
func (s *Server) Client(tb testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	tb.Cleanup(func() { c.Close() })
	return c
}

// Stop terminates the server and waits for it. Its data is gone unless the
// server persists it. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Server) stopLocked() {
	if s.stopped || s.cmd == nil {
		return
	}
	s.stopped = true
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// Restart stops the server and starts a new one on the same port and in
// the same directory, as a Redis failover or crash would look to its
// clients. Without persistence the new server starts empty.
func (s *Server) Restart() {
	s.tb.Helper()
	s.mu.Lock()
	s.stopLocked()
	port := s.port
	s.mu.Unlock()
	var err error
	for range startAttempts {
		if err = s.start(port); err == nil {
			return
		}
	}
	s.tb.Fatalf("redistest: restarting redis-server on port %d: %v", port, err)
}

// start launches redis-server on port and waits until it answers PING.
func (s *Server) start(port int) error {
	args := []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--logfile", "redis.log",
	}
	args = append(args, s.extra...)
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	if err := waitReady(port, exited); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%w; log: %s", err, s.logTail())
	}
	s.mu.Lock()
	s.port, s.cmd, s.exited, s.stopped = port, cmd, exited, false
	s.mu.Unlock()
	return nil
}

// waitReady polls the port until the server answers PING, the process
// exits (the port was taken, most likely) or readyTimeout passes.
func waitReady(port int, exited <-chan struct{}) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-exited:
			return errors.New("redis-server exited during start-up")
		default:
		}
		if ping(addr) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s did not answer PING within %v", addr, readyTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ping(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// logTail returns the end of the server's log, for error messages.
func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		return "(no log)"
	}
	const max = 2000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return strings.TrimSpace(string(b))
}
