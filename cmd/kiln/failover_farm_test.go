package main_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kilnbuild/kiln/internal/bazeltest"
	"github.com/kilnbuild/kiln/internal/gcstest"
	"github.com/kilnbuild/kiln/internal/kilntest"
	"github.com/kilnbuild/kiln/internal/redistest"
)

// farm is a scaled-out Kiln as separate processes: Redis for the
// schedulers' state and the action cache, a GCS emulator in this process,
// CAS nodes sharding one bucket behind disk tiers, scheduler replicas
// active-active on Redis, and workers. Clients and workers reach the
// schedulers and the CAS nodes through load balancers, as they would reach
// Kubernetes Services.
type farm struct {
	t          *testing.T
	redis      *redistest.Server
	gcs        *gcstest.Server
	casNodes   []*kilntest.Server
	casLB      *kilntest.LoadBalancer
	schedulers []*kilntest.Server
	schedLB    *kilntest.LoadBalancer
	workers    []*kilntest.Worker
}

// farmSize says how many processes of each kind a farm runs.
type farmSize struct {
	casNodes, schedulers, workers, workerSlots int
}

// farmBucket is the bucket of the farm's CAS.
const farmBucket = "kiln-farm"

func startFarm(t *testing.T, size farmSize) *farm {
	t.Helper()
	f := &farm{t: t, redis: redistest.Start(t), gcs: gcstest.Start(t)}
	f.gcs.CreateBucket(t, farmBucket)

	// Every node's config names all shards, so their ports are fixed
	// before any node starts.
	addrs := make([]string, size.casNodes)
	shards := make([]string, size.casNodes)
	for i := range addrs {
		addrs[i] = reserveLoopbackAddr(t)
		shards[i] = fmt.Sprintf("%q", "grpc://"+addrs[i])
	}
	casConfig := writeFarmConfig(t, fmt.Sprintf(`
roles: [cas, actioncache]
cas:
  backend: gcs
  gcs: {bucket: %s, prefix: farm, endpoint: %q}
  tier: {backend: disk, max_size: 256MiB}
  shards: [%s]
action_cache:
  backend: redis
redis:
  address: %q
`, farmBucket, f.gcs.Endpoint(), strings.Join(shards, ", "), f.redis.Addr()))
	for _, addr := range addrs {
		f.casNodes = append(f.casNodes, kilntest.StartServe(t, []string{"cas", "actioncache"}, kilntest.Options{
			Args: []string{"--config=" + casConfig, "--listen=" + addr, "--cas-self=grpc://" + addr},
		}))
	}
	f.casLB = kilntest.StartLoadBalancer(t, addrs...)

	var schedAddrs []string
	for range size.schedulers {
		s := f.startScheduler("127.0.0.1:0")
		f.schedulers = append(f.schedulers, s)
		schedAddrs = append(schedAddrs, s.Addr)
	}
	f.schedLB = kilntest.StartLoadBalancer(t, schedAddrs...)

	for range size.workers {
		f.workers = append(f.workers, kilntest.StartWorker(t, kilntest.WorkerOptions{
			Scheduler:   f.schedLB.Addr(),
			CAS:         f.casLB.Addr(),
			Concurrency: size.workerSlots,
			// The scheduler is under test here, not isolation; plain
			// processes also let the test see each action's process.
			Args: []string{"--runner=process"},
		}))
	}
	return f
}

// startScheduler runs one scheduler replica on listen (host:port, port 0
// for a free one) with its state in the farm's Redis.
func (f *farm) startScheduler(listen string) *kilntest.Server {
	f.t.Helper()
	return kilntest.StartServe(f.t, []string{"scheduler"}, kilntest.Options{Args: []string{
		"--listen=" + listen,
		"--cas=grpc://" + f.casLB.Addr(),
		"--scheduler-state=redis",
		"--redis=" + f.redis.Addr(),
	}})
}

// bazelFlags point Bazel at the farm's Services, with nothing run locally.
func (f *farm) bazelFlags() []string {
	return append(bazeltest.RemoteExecutionOnly(),
		"--remote_executor=grpc://"+f.schedLB.Addr(),
		"--remote_cache=grpc://"+f.casLB.Addr(),
	)
}

// reserveLoopbackAddr returns a 127.0.0.1 address whose port was free a
// moment ago.
func reserveLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func writeFarmConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kiln.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// inFlightCalls is how many calls of the Execution service's methods a
// server has running, from its gRPC metrics (started minus handled).
func inFlightCalls(t *testing.T, s *kilntest.Server, methods ...string) float64 {
	t.Helper()
	samples, ok := s.Metrics(t)
	if !ok {
		t.Fatalf("kiln printed no metrics address:\n%s", s.Output())
	}
	n := 0.0
	for key, v := range samples {
		if !strings.Contains(key, `grpc_service="build.bazel.remote.execution.v2.Execution"`) {
			continue
		}
		for _, m := range methods {
			if !strings.Contains(key, `grpc_method="`+m+`"`) {
				continue
			}
			switch {
			case strings.HasPrefix(key, "grpc_server_started_total{"):
				n += v
			case strings.HasPrefix(key, "grpc_server_handled_total{"):
				n -= v
			}
		}
	}
	return n
}

// actionWatch records every run of one action on a set of workers: the
// top processes (group leaders) in the workers' data directories whose
// command line holds a marker. A runner starts each run's top process
// anew, so distinct pids are distinct runs.
type actionWatch struct {
	marker  string
	workers []*kilntest.Worker
	stop    chan struct{}
	stopped sync.WaitGroup

	mu      sync.Mutex
	runs    map[int]bool
	running chan struct{} // closed at the first run seen
	err     error
}

// watchAction watches until the returned watch is stopped (at the end of
// the test at the latest).
func watchAction(t *testing.T, marker string, workers []*kilntest.Worker) *actionWatch {
	w := &actionWatch{marker: marker, workers: workers, stop: make(chan struct{}), runs: map[int]bool{}, running: make(chan struct{})}
	w.stopped.Go(w.loop)
	t.Cleanup(w.Stop)
	return w
}

func (w *actionWatch) loop() {
	// Each run of the farm's slow action lasts seconds: a scan every
	// 50 ms sees every one.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, wk := range w.workers {
			procs, err := kilntest.ProcessesIn(wk.DataDir)
			w.mu.Lock()
			if err != nil && w.err == nil {
				w.err = err
			}
			for _, p := range procs {
				if p.Leader() && strings.Contains(p.Cmdline, w.marker) && !w.runs[p.Pid] {
					if len(w.runs) == 0 {
						close(w.running)
					}
					w.runs[p.Pid] = true
				}
			}
			w.mu.Unlock()
		}
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
	}
}

// Stop ends the watch; Runs stays readable.
func (w *actionWatch) Stop() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.stopped.Wait()
}

// Runs is how many runs were seen so far, and the first error reading
// /proc, if any.
func (w *actionWatch) Runs() (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.runs), w.err
}

// awaitRun waits until the action is seen running, or the build ends
// first (an error: the test missed its moment).
func (w *actionWatch) awaitRun(build *backgroundBuild) error {
	select {
	case <-w.running:
		return nil
	case <-build.done:
		return fmt.Errorf("the build ended before a worker was seen running %q", w.marker)
	}
}

// waitBuild waits for a background build at most limit, so that a build
// that hangs fails the test with its output rather than running into the
// go test deadline.
func waitBuild(t *testing.T, build *backgroundBuild, limit time.Duration, what string) {
	t.Helper()
	select {
	case <-build.done:
	case <-time.After(limit):
		t.Fatalf("%s did not end within %v", what, limit)
	}
	if build.err != nil {
		t.Fatalf("%s: %v\n%s", what, build.err, build.res.Output)
	}
}
