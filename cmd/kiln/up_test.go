package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	bspb "google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kilnbuild/kiln/internal/digest"
)

// syncBuffer collects stderr, written by the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runningKiln is a kiln command (up, serve, worker) running in this
// process, as run() runs it for main.
type runningKiln struct {
	// banner holds the stdout lines up to the one the command was
	// started with ready for.
	banner []string
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// runningUp is `kiln up` running in this process.
type runningUp struct {
	*runningKiln
	grpcAddr, execAddr, metricsAddr string
}

var (
	remoteCacheLine    = regexp.MustCompile(`^  --remote_cache=grpc://(127\.0\.0\.1:\d+)$`)
	remoteExecutorLine = regexp.MustCompile(`^  --remote_executor=grpc://(127\.0\.0\.1:\d+)$`)
	metricsLine        = regexp.MustCompile(`^Metrics: http://(127\.0\.0\.1:\d+)/metrics$`)
)

// startKiln runs `kiln args...` until the test ends, and reads its stdout
// until a line for which last is true (the end of its banner). It fails t
// if the command returns before printing that line.
func startKiln(t *testing.T, last func(line string) bool, args ...string) *runningKiln {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdoutR, stdoutW := io.Pipe()
	k := &runningKiln{stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := run(ctx, args, stdoutW, k.stderr)
		stdoutW.Close()
		k.done <- err
	}()
	sc := bufio.NewScanner(stdoutR)
	ended := false
	for !ended && sc.Scan() {
		k.banner = append(k.banner, sc.Text())
		ended = last(sc.Text())
	}
	go io.Copy(io.Discard, stdoutR) // never block the server on stdout
	if !ended {
		cancel()
		t.Fatalf("kiln %q printed no complete banner; it returned %v\nstdout:\n%s\nstderr:\n%s",
			args, <-k.done, strings.Join(k.banner, "\n"), k.stderr)
	}
	t.Cleanup(func() {
		if k.cancel != nil {
			k.stop(t)
		}
	})
	return k
}

// bannerValue returns the first submatch of re in the banner, or "".
func (k *runningKiln) bannerValue(re *regexp.Regexp) string {
	for _, line := range k.banner {
		if m := re.FindStringSubmatch(line); m != nil {
			return m[1]
		}
	}
	return ""
}

// startUp runs `kiln up` with args until the test ends, and waits for the
// banner, which ends with the Data line.
func startUp(t *testing.T, args ...string) *runningUp {
	t.Helper()
	k := startKiln(t, func(line string) bool { return strings.HasPrefix(line, "Data: ") }, append([]string{"up"}, args...)...)
	u := &runningUp{
		runningKiln: k,
		grpcAddr:    k.bannerValue(remoteCacheLine),
		execAddr:    k.bannerValue(remoteExecutorLine),
		metricsAddr: k.bannerValue(metricsLine),
	}
	if u.grpcAddr == "" {
		t.Fatalf("kiln up printed no --remote_cache line:\n%s", strings.Join(k.banner, "\n"))
	}
	return u
}

// stop cancels the command's context, as SIGINT does, and checks it exits
// cleanly.
func (k *runningKiln) stop(t *testing.T) {
	t.Helper()
	k.cancel()
	k.cancel = nil
	if err := <-k.done; err != nil {
		t.Errorf("kiln after cancel returned %v\nstderr:\n%s", err, k.stderr)
	}
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping /metrics: %s %v", resp.Status, err)
	}
	return string(body)
}

func TestUpServesCacheAndMetricsThenStopsCleanly(t *testing.T) {
	dataDir := t.TempDir()
	u := startUp(t, "--listen=127.0.0.1:0", "--metrics-listen=127.0.0.1:0", "--data-dir="+dataDir, "--max-batch-size=2MiB")
	conn := dial(t, u.grpcAddr)
	ctx := context.Background()
	if u.metricsAddr == "" {
		t.Fatal("kiln up printed no Metrics line")
	}

	caps, err := repb.NewCapabilitiesClient(conn).GetCapabilities(ctx, &repb.GetCapabilitiesRequest{})
	if err != nil {
		t.Fatalf("GetCapabilities: %v", err)
	}
	cc := caps.GetCacheCapabilities()
	if got := cc.GetMaxBatchTotalSizeBytes(); got != 2<<20 {
		t.Errorf("advertised max batch = %d, want the configured 2 MiB", got)
	}
	if !cc.GetActionCacheUpdateCapabilities().GetUpdateEnabled() {
		t.Error("action cache updates are not advertised; Bazel's --remote_cache would refuse the server")
	}

	// One blob through ByteStream: write it, read it back.
	blob := []byte("hello from the kiln up test")
	d := digest.OfBytes(repb.DigestFunction_SHA256, blob)
	bs := bspb.NewByteStreamClient(conn)
	w, err := bs.Write(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = w.Send(&bspb.WriteRequest{
		ResourceName: "uploads/3f1c2b9e-0000-4000-8000-000000000001/blobs/" + d.String(),
		Data:         blob,
		FinishWrite:  true,
	})
	if err != nil {
		t.Fatal(err)
	}
	wresp, err := w.CloseAndRecv()
	if err != nil {
		t.Fatalf("ByteStream Write: %v", err)
	}
	if wresp.GetCommittedSize() != d.Size {
		t.Errorf("committed_size = %d, want %d", wresp.GetCommittedSize(), d.Size)
	}
	r, err := bs.Read(ctx, &bspb.ReadRequest{ResourceName: "blobs/" + d.String()})
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for {
		resp, err := r.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("ByteStream Read: %v", err)
		}
		got = append(got, resp.GetData()...)
	}
	if !bytes.Equal(got, blob) {
		t.Errorf("read back %q, want %q", got, blob)
	}

	metrics := scrape(t, u.metricsAddr)
	for _, want := range []string{
		`grpc_server_handled_total{grpc_code="OK",grpc_method="GetCapabilities",grpc_service="build.bazel.remote.execution.v2.Capabilities",grpc_type="unary"} 1`,
		`grpc_server_handled_total{grpc_code="OK",grpc_method="Write",grpc_service="google.bytestream.ByteStream",grpc_type="client_stream"} 1`,
		`grpc_server_handled_total{grpc_code="OK",grpc_method="Read",grpc_service="google.bytestream.ByteStream",grpc_type="server_stream"} 1`,
		"kiln_cas_disk_blobs 1\n",
		"go_goroutines ",
		"process_start_time_seconds ",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	u.stop(t)
	if _, err := net.Dial("tcp", u.grpcAddr); err == nil {
		t.Error("the gRPC port still accepts connections after stop")
	}

	// The data survived the stop: a new process on the same directory
	// serves the blob (and could take the directory's lock at all).
	u2 := startUp(t, "--listen=127.0.0.1:0", "--metrics-listen=", "--data-dir="+dataDir)
	if u2.metricsAddr != "" {
		t.Errorf("metrics disabled, yet kiln up printed a Metrics line for %s", u2.metricsAddr)
	}
	missing, err := repb.NewContentAddressableStorageClient(dial(t, u2.grpcAddr)).FindMissingBlobs(ctx,
		&repb.FindMissingBlobsRequest{BlobDigests: []*repb.Digest{d.Proto()}})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing.GetMissingBlobDigests()) != 0 {
		t.Error("the blob written before the restart is missing after it")
	}
}
