package main_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/internal/digest"
	"github.com/kilnbuild/kiln/internal/kilntest"
)

// concurrentExecutes is how many clients ask for the same action at once.
const concurrentExecutes = 50

// TestDedupFiftyConcurrentExecutes sends one slow, cacheable action to
// `kiln up` from 50 clients at once. Its output is random, so a second run
// would show as a different digest: all 50 must get the one result of a
// single run.
func TestDedupFiftyConcurrentExecutes(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test of the kiln binary; skipped in -short mode")
	}
	kiln := kilntest.Start(t, kilntest.Options{Args: []string{"--workers=4"}})
	kiln.RemoteExecutorFlag() // fails now, clearly, if kiln runs no scheduler
	client := kiln.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	action, err := client.UploadAction(ctx, &repb.Command{
		// Slow enough that every client asks while it runs; od prints
		// 16 random bytes in hex.
		Arguments:            []string{"sh", "-c", "sleep 3 && od -An -N16 -tx1 /dev/urandom > out"},
		EnvironmentVariables: []*repb.Command_EnvironmentVariable{{Name: "PATH", Value: "/bin:/usr/bin"}},
		OutputPaths:          []string{"out"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}

	responses := make([]*repb.ExecuteResponse, concurrentExecutes)
	errs := make([]error, concurrentExecutes)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range concurrentExecutes {
		// A connection each, as 50 separate builds would have.
		c := kilntest.NewClient(kiln.Dial())
		wg.Go(func() {
			<-start
			responses[i], errs[i] = c.Execute(ctx, action)
		})
	}
	close(start)
	wg.Wait()

	var first *repb.OutputFile
	for i, resp := range responses {
		if errs[i] != nil {
			t.Fatalf("client %d: Execute: %v", i, errs[i])
		}
		if c := codes.Code(resp.GetStatus().GetCode()); c != codes.OK || resp.GetResult().GetExitCode() != 0 {
			t.Fatalf("client %d: status %v, exit code %d: %v", i, c, resp.GetResult().GetExitCode(), resp)
		}
		files := resp.GetResult().GetOutputFiles()
		if len(files) != 1 || files[0].GetPath() != "out" {
			t.Fatalf("client %d: output files %v, want just out", i, files)
		}
		if first == nil {
			first = files[0]
			continue
		}
		if !proto.Equal(files[0].GetDigest(), first.GetDigest()) {
			t.Errorf("client %d got out with digest %v, client 0 got %v: the action ran more than once",
				i, files[0].GetDigest(), first.GetDigest())
		}
	}

	d, err := digest.FromProto(repb.DigestFunction_SHA256, first.GetDigest())
	if err != nil {
		t.Fatalf("digest of out: %v", err)
	}
	out, err := client.Read(ctx, d)
	if err != nil {
		t.Fatalf("reading out: %v", err)
	}
	if !regexp.MustCompile(`^( [0-9a-f]{2}){16}\n$`).Match(out) {
		t.Errorf("out holds %q, want 16 hex bytes as od prints them", out)
	}

	// The other 49 joined the one execution in flight (or, had they come
	// late, hit the cache: the output check above holds either way).
	requireOneSuccessfulExecution(t, kiln)
}

// executionsMetric counts the scheduler's finished operations by result.
const executionsMetric = "kiln_scheduler_executions_total"

// requireOneSuccessfulExecution fails t unless the scheduler of s counted
// exactly one execution that ended other than by a cache hit, and it was a
// success.
func requireOneSuccessfulExecution(t *testing.T, s *kilntest.Server) {
	t.Helper()
	success, ok := s.Metric(t, executionsMetric+`{result="success"}`)
	hits, _ := s.Metric(t, executionsMetric+`{result="cache_hit"}`)
	if all := s.MetricSum(t, executionsMetric); !ok || success != 1 || all-hits != 1 {
		samples, _ := s.Metrics(t)
		var counted []string
		for k, v := range samples {
			if strings.HasPrefix(k, executionsMetric) {
				counted = append(counted, fmt.Sprintf("%s %v", k, v))
			}
		}
		t.Errorf("scheduler counted executions %v; want exactly one that ran, a success", counted)
	}
}
