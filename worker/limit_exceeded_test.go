package worker

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/codes"

	"github.com/kilnbuild/kiln/actioncache"
	"github.com/kilnbuild/kiln/cas"
)

// oomRunner runs the command, then says the kernel killed it for its
// memory, as the sandbox runner does when the cgroup's OOM killer struck.
type oomRunner struct{ Runner }

func (r oomRunner) Run(ctx context.Context, cmd *Command) (*Result, error) {
	res, err := r.Runner.Run(ctx, cmd)
	if err != nil {
		return res, err
	}
	res.ExitCode = 137
	return res, fmt.Errorf("%w: the action was killed for using more than its memory limit of 64MiB", ErrLimitExceeded)
}

func TestAgentReportsALimitExceededAsResourceExhausted(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &agentFixture{t: t, gw: newFakeGateway(), cas: cas.NewMemoryStore(), ac: actioncache.NewMemoryStore(), dataDir: t.TempDir()}
	f.agent, err = New(Options{
		Gateway: serveGateway(t, f.gw, lis), CAS: f.cas, ActionCache: f.ac, DataDir: f.dataDir,
		Concurrency: 1, WorkerID: "test-worker", Runner: oomRunner{NewProcessRunner()},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan error, 1)
	go func() { f.done <- f.agent.Run(ctx) }()
	t.Cleanup(f.stop)

	ad := f.submit("hog", nil, &repb.Command{
		Arguments: []string{"sh", "-c", "echo allocating; echo out > out.txt"}, EnvironmentVariables: testEnv,
		OutputPaths: []string{"out.txt"},
	}, nil)
	_, resp := f.completion()
	st := resp.GetStatus()
	if st.GetCode() != int32(codes.ResourceExhausted) || !strings.Contains(st.GetMessage(), "memory limit of 64MiB") {
		t.Fatalf("status %v, want RESOURCE_EXHAUSTED naming the limit", st)
	}
	if got := readBlob(t, f.cas, resp.GetResult().GetStdoutDigest()); got != "allocating\n" {
		t.Errorf("stdout %q: the log is kept", got)
	}
	if len(resp.GetResult().GetOutputFiles()) != 0 {
		t.Errorf("outputs of a killed action were stored: %v", resp.GetResult().GetOutputFiles())
	}
	if f.acEntry(ad) != nil {
		t.Error("a killed action was cached")
	}
}
