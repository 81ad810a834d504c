package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"github.com/kilnbuild/kiln/actioncache"
	"github.com/kilnbuild/kiln/bench/loadgen"
	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/capabilities"
	"github.com/kilnbuild/kiln/internal/digest"
)

// startServer serves CAS, ByteStream, ActionCache and Capabilities over
// blobs on 127.0.0.1 and returns the target to give --target.
func startServer(t testing.TB, blobs cas.BlobStore) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(16 << 20))
	cas.NewCASServer(blobs, cas.CASServerOptions{}).Register(srv)
	bs := cas.NewByteStreamServer(blobs, cas.ByteStreamServerOptions{})
	bs.Register(srv)
	ac := actioncache.NewCompletenessChecking(actioncache.NewMemoryStore(), blobs, actioncache.CompletenessOptions{})
	actioncache.NewServer(ac, blobs, actioncache.ServerOptions{UpdateEnabled: true}).Register(srv)
	capabilities.NewServer(capabilities.Options{UpdateEnabled: true, MaxBatchTotalSizeBytes: cas.DefaultMaxBatchTotalSizeBytes}).Register(srv)
	go srv.Serve(lis)
	t.Cleanup(func() {
		srv.Stop()
		bs.Close()
	})
	return "grpc://" + lis.Addr().String()
}

// jsonResult is the part of the --json output the tests look at.
type jsonResult struct {
	Scenario    string   `json:"scenario"`
	Ops         int64    `json:"ops"`
	Items       int64    `json:"items"`
	Bytes       int64    `json:"bytes"`
	Errors      int64    `json:"errors"`
	FirstError  string   `json:"first_error"`
	Hits        int64    `json:"hits"`
	Misses      int64    `json:"misses"`
	MBPerSecond float64  `json:"mb_per_second"`
	Notes       []string `json:"notes"`
	Latency     struct {
		Count int     `json:"count"`
		P50   float64 `json:"p50"`
		P99   float64 `json:"p99"`
	} `json:"latency_seconds"`
}

func runJSON(t *testing.T, args ...string) ([]jsonResult, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append(args, "--json"), &stdout, &stderr)
	var results []jsonResult
	if jerr := json.Unmarshal(stdout.Bytes(), &results); jerr != nil {
		t.Fatalf("output is not JSON (%v): %s\nstderr: %s", jerr, stdout.String(), stderr.String())
	}
	if err != nil {
		t.Logf("stderr: %s", stderr.String())
	}
	return results, err
}

func TestEveryScenarioAgainstInProcessServer(t *testing.T) {
	target := startServer(t, cas.NewMemoryStore())
	const count = 6
	results, err := runJSON(t, "--target="+target, "--count=6", "--concurrency=3",
		"--sizes=4KiB,3100KiB", "--findmissing-digests=1000", "--ac-entries=10", "--verify")
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	want := map[string]int64{ // scenario → bytes per op
		"bytestream-write/4KiB": 4 << 10, "bytestream-write/3100KiB": 3100 << 10,
		"bytestream-read/4KiB": 4 << 10, "bytestream-read/3100KiB": 3100 << 10,
		"findmissing/1000": 0, "batchupdate/100x1KiB": 100 << 10, "getactionresult": 0,
	}
	if len(results) != len(want) {
		t.Errorf("got %d results, want %d: %+v", len(results), len(want), results)
	}
	for _, r := range results {
		perOp, ok := want[r.Scenario]
		if !ok {
			t.Errorf("unexpected scenario %q", r.Scenario)
			continue
		}
		if r.Ops != count || r.Errors != 0 || r.Latency.Count != count || r.Latency.P50 <= 0 {
			t.Errorf("%s: %d ops, %d errors (%s), %d latency samples (p50 %v); want %d ops, no errors",
				r.Scenario, r.Ops, r.Errors, r.FirstError, r.Latency.Count, r.Latency.P50, count)
		}
		if r.Bytes != perOp*count {
			t.Errorf("%s: %d bytes, want %d", r.Scenario, r.Bytes, perOp*count)
		}
		if perOp > 0 && r.MBPerSecond <= 0 {
			t.Errorf("%s: throughput %v MB/s", r.Scenario, r.MBPerSecond)
		}
		switch r.Scenario {
		case "findmissing/1000":
			if r.Items != 1000*count {
				t.Errorf("findmissing: %d digests checked, want %d", r.Items, 1000*count)
			}
		case "batchupdate/100x1KiB":
			if r.Items != 100*count {
				t.Errorf("batchupdate: %d blobs, want %d", r.Items, 100*count)
			}
		case "getactionresult":
			if r.Hits != count || r.Misses != 0 {
				t.Errorf("getactionresult: %d hits, %d misses; want %d hits", r.Hits, r.Misses, count)
			}
		}
	}
}

func TestNonLegacyDigestFunctionAndInstanceName(t *testing.T) {
	target := startServer(t, cas.NewMemoryStore())
	results, err := runJSON(t, "--target="+target, "--count=2", "--digest-function=blake3", "--instance=ci/main",
		"--scenarios=bytestream-write,bytestream-read,getactionresult", "--sizes=1MiB", "--ac-entries=3", "--verify")
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, r := range results {
		if r.Ops != 2 || r.Errors != 0 {
			t.Errorf("%s: %d ops, %d errors (%s); want 2 ops, no errors", r.Scenario, r.Ops, r.Errors, r.FirstError)
		}
	}
}

// lyingStore claims that every blob is missing, and serves reads of any blob
// with the bytes of another one.
type lyingStore struct{ cas.BlobStore }

func (s lyingStore) FindMissing(ctx context.Context, ds []digest.Digest) ([]digest.Digest, error) {
	return ds, nil
}

func (s lyingStore) Get(ctx context.Context, d digest.Digest, offset, limit int64) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(make([]byte, d.Size))), nil
}

func TestWrongAnswersAreErrors(t *testing.T) {
	target := startServer(t, lyingStore{cas.NewMemoryStore()})
	results, err := runJSON(t, "--target="+target, "--count=3", "--scenarios=bytestream-read,findmissing",
		"--sizes=4KiB", "--findmissing-digests=100")
	if err == nil {
		t.Error("run succeeded against a server that gives wrong answers")
	}
	if len(results) != 2 {
		t.Fatalf("got %d results, want 2", len(results))
	}
	for _, r := range results {
		if r.Ops != 0 || r.Errors != 3 {
			t.Errorf("%s: %d ops, %d errors; want every op to fail", r.Scenario, r.Ops, r.Errors)
		}
	}
	if !strings.Contains(results[0].FirstError, "tag") || !strings.Contains(results[1].FirstError, "missing") {
		t.Errorf("errors do not name the problem: %q, %q", results[0].FirstError, results[1].FirstError)
	}
}

func TestBadFlagsAreRejected(t *testing.T) {
	for _, args := range [][]string{
		{"--concurrency=0"},
		{"--sizes=4XB"},
		{"--scenarios=nope", "--target=grpc://127.0.0.1:1", "--skip-capabilities"},
		{"--target=http://x"},
		{"--digest-function=md4"},
		{"--duration=0"},
		{"--platform=novalue"},
		{"--exec-concurrency=0"},
		{"extra"},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
}

func TestWritingAPresentBlobSucceeds(t *testing.T) {
	target := startServer(t, cas.NewMemoryStore())
	c, err := loadgen.Dial(target, loadgen.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	gen, err := loadgen.NewBlobGenerator(c.DigestFunction, 3<<20)
	if err != nil {
		t.Fatal(err)
	}
	b, err := gen.Next(3 << 20)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if early, err := c.WriteBlob(ctx, b, nil); err != nil || early {
		t.Fatalf("first write: early %v, %v; want a full write", early, err)
	}
	// The server may end the second write early (REAPI allows it) or take
	// it whole; either way the write succeeds and the blob reads back.
	if _, err := c.WriteBlob(ctx, b, nil); err != nil {
		t.Fatalf("second write: %v", err)
	}
	if err := c.ReadBlob(ctx, b, true); err != nil {
		t.Fatalf("read back: %v", err)
	}
}
