package main

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kilnbuild/kiln/actioncache"
	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/capabilities"
	workerpb "github.com/kilnbuild/kiln/proto/kiln/worker/v1"
	"github.com/kilnbuild/kiln/scheduler"
	"github.com/kilnbuild/kiln/worker"
)

// startExecServer serves a whole execution cluster on 127.0.0.1 over a
// memory CAS: CAS, ByteStream, action cache, Capabilities with execution,
// the scheduler, and one worker agent with slots process-runner slots.
func startExecServer(t testing.TB, slots int) string {
	t.Helper()
	blobs, results := cas.NewMemoryStore(), actioncache.NewMemoryStore()
	quiet := slog.New(slog.DiscardHandler)
	sched, err := scheduler.New(scheduler.Options{CAS: blobs, ActionCache: results, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(16 << 20))
	cas.NewCASServer(blobs, cas.CASServerOptions{}).Register(srv)
	bs := cas.NewByteStreamServer(blobs, cas.ByteStreamServerOptions{Streams: sched.StreamSource()})
	bs.Register(srv)
	actioncache.NewServer(results, blobs, actioncache.ServerOptions{UpdateEnabled: true}).Register(srv)
	capabilities.NewServer(capabilities.Options{ExecEnabled: true, UpdateEnabled: true, MaxBatchTotalSizeBytes: cas.DefaultMaxBatchTotalSizeBytes}).Register(srv)
	sched.Register(srv)
	go srv.Serve(lis)

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	agent, err := worker.New(worker.Options{
		Gateway:     workerpb.NewWorkerGatewayClient(conn),
		CAS:         blobs,
		ActionCache: results,
		Runner:      worker.NewProcessRunner(),
		DataDir:     t.TempDir(),
		Concurrency: slots,
		Logger:      quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- agent.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-stopped
		sched.Close() // ends the agent's long poll, if any is left
		conn.Close()
		srv.Stop()
		bs.Close()
	})
	return "grpc://" + lis.Addr().String()
}

func TestExecutionScenariosAgainstInProcessCluster(t *testing.T) {
	target := startExecServer(t, 2)
	// A property the worker offers, so that the actions carry a platform.
	offered := worker.DefaultPlatform()[0]
	results, err := runJSON(t, "--target="+target, "--scenarios=exec-latency,exec-throughput",
		"--exec-latency-actions=4", "--exec-throughput-actions=30", "--exec-concurrency=8",
		"--platform="+offered.GetName()+"="+offered.GetValue())
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	want := map[string]int64{"exec-latency": 4, "exec-throughput": 30}
	if len(results) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(results), len(want), results)
	}
	for _, r := range results {
		n, ok := want[r.Scenario]
		if !ok {
			t.Errorf("unexpected scenario %q", r.Scenario)
			continue
		}
		if r.Ops != n || r.Errors != 0 || r.Latency.Count != int(n) || r.Latency.P50 <= 0 {
			t.Errorf("%s: %d ops, %d errors (%s), %d latency samples; want %d ops, no errors",
				r.Scenario, r.Ops, r.Errors, r.FirstError, r.Latency.Count, n)
		}
		// Every action is new: each one ran, none came from the cache.
		if r.Misses != n || r.Hits != 0 {
			t.Errorf("%s: %d executed, %d cache hits; want %d executed", r.Scenario, r.Misses, r.Hits, n)
		}
		if !strings.Contains(strings.Join(r.Notes, ";"), "execution ") {
			t.Errorf("%s: notes %q lack the server-side stages", r.Scenario, r.Notes)
		}
	}
}

// TestExecutionScenariosAreSkippedWithoutExecution: "all" against a cache
// endpoint runs the cache scenarios only, while naming an exec scenario
// runs it and reports the failure.
func TestExecutionScenariosAreSkippedWithoutExecution(t *testing.T) {
	target := startServer(t, cas.NewMemoryStore())
	results, err := runJSON(t, "--target="+target, "--scenarios=all,exec-latency", "--count=1",
		"--sizes=4KiB", "--findmissing-digests=10", "--ac-entries=1", "--batch-blobs=1")
	if err == nil {
		t.Error("run succeeded, but the server cannot execute")
	}
	var names []string
	for _, r := range results {
		names = append(names, r.Scenario)
	}
	if got := strings.Join(names, ","); got != "bytestream-write/4KiB,bytestream-read/4KiB,findmissing/10,batchupdate/1x1KiB,getactionresult,exec-latency" {
		t.Errorf("scenarios run: %s", got)
	}
	last := results[len(results)-1]
	if last.Ops != 0 || last.Errors != 1 || !strings.Contains(last.FirstError, "Unimplemented") {
		t.Errorf("exec-latency against a cache: %d ops, %d errors (%s); want one Unimplemented error", last.Ops, last.Errors, last.FirstError)
	}
}

// TestEachRunMakesNewActions runs the scenario twice against one server,
// whose worker writes the action cache: had the second run reused the
// first run's actions, the server would answer them from the cache, which
// the scenario counts as an error.
func TestEachRunMakesNewActions(t *testing.T) {
	target := startExecServer(t, 1)
	for pass := range 2 {
		results, err := runJSON(t, "--target="+target, "--scenarios=exec-latency", "--exec-latency-actions=2")
		if err != nil || len(results) != 1 || results[0].Errors != 0 || results[0].Misses != 2 {
			t.Fatalf("pass %d: %v, %+v", pass, err, results)
		}
	}
}
