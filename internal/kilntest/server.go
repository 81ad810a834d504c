package kilntest

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Options say how to start a kiln server (`kiln up` or `kiln serve`).
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

// Server is one running `kiln up` or `kiln serve` process.
type Server struct {
	*Process
	// Addr is the host:port of the gRPC endpoint, as kiln printed it.
	Addr string
}

// Keys of the banner lines a server prints (see cmd/kiln/up.go); scripts
// parse them, so their form is part of kiln's interface.
const (
	lineCache    = "cache"
	lineExecutor = "executor"
	lineMetrics  = "metrics"
)

func serverLines() *lineWatcher {
	return newLineWatcher(map[string]*regexp.Regexp{
		lineCache:    regexp.MustCompile(`--remote_cache=grpc://(127\.0\.0\.1:[1-9]\d*)`),
		lineExecutor: regexp.MustCompile(`--remote_executor=grpc://(127\.0\.0\.1:[1-9]\d*)`),
		lineMetrics:  regexp.MustCompile(`http://(127\.0\.0\.1:[1-9]\d*)/metrics`),
	})
}

// bannerTimeout bounds the wait for a banner line after the first one: the
// banner is printed in one go.
const bannerTimeout = 10 * time.Second

// Start runs `kiln up` on 127.0.0.1 with free ports and waits until it
// prints the --remote_cache line that says it serves. The process is
// stopped when t ends; its output is logged if t failed, and a data race
// reported by a -race build fails t.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	return startServer(t, "up", nil, opts, lineCache)
}

// StartServe runs `kiln serve --roles=ROLES` (e.g. "cas", "actioncache",
// "scheduler") on 127.0.0.1 with free ports and waits until it prints the
// --remote_cache or --remote_executor line of its banner.
func StartServe(t testing.TB, roles []string, opts Options) *Server {
	t.Helper()
	return startServer(t, "serve", []string{"--roles=" + strings.Join(roles, ",")}, opts, lineCache, lineExecutor)
}

func startServer(t testing.TB, command string, commandArgs []string, opts Options, ready ...string) *Server {
	t.Helper()
	dataDir := opts.DataDir
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	args := append([]string{command}, commandArgs...)
	args = append(args,
		"--listen=127.0.0.1:0",
		"--metrics-listen=127.0.0.1:0",
		"--data-dir="+dataDir,
	)
	args = append(args, opts.Args...)
	bin := opts.Binary
	if bin == "" {
		bin = Binary(t)
	}
	p := startProcess(t, bin, args, dataDir, serverLines(), ready...)
	s := &Server{Process: p}
	// The executor line always names this process's endpoint; a cache
	// line may name another process's CAS (a scheduler without the cas
	// role tells Bazel where the cache is), but only after it.
	if addr, ok := p.lines.value(lineExecutor); ok {
		s.Addr = addr
	} else {
		s.Addr, _ = p.lines.value(lineCache)
	}
	return s
}

// RemoteCacheFlag is the Bazel flag that points at this server as a cache.
func (s *Server) RemoteCacheFlag() string { return "--remote_cache=grpc://" + s.Addr }

// RemoteExecutorFlag is the Bazel flag that points at this server for
// remote execution, as kiln printed it. It fails the test if kiln printed
// none: then it runs no scheduler.
func (s *Server) RemoteExecutorFlag() string {
	s.t.Helper()
	addr, err := s.lines.wait(bannerTimeout, s.exited, lineExecutor)
	if err != nil {
		s.t.Fatalf("kiln printed no --remote_executor line (does it run the scheduler?): %v\n%s", err, s.Output())
	}
	return "--remote_executor=grpc://" + addr
}

// MetricsAddr is the host:port of kiln's /metrics endpoint as kiln printed
// it, or "" if it printed none.
func (s *Server) MetricsAddr() string {
	addr, err := s.lines.wait(bannerTimeout, s.exited, lineMetrics)
	if err != nil {
		return ""
	}
	return addr
}

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
