package microvm

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/kilnbuild/kiln/worker"
	"github.com/kilnbuild/kiln/worker/sandbox"
)

// BenchmarkStartToResult runs one trivial action (sh -c 'echo hi > out')
// per iteration and reports the median, not the mean: run it with
// -benchtime=10x for the median of 10 of each runner in one run
// (docs/bench.md).
//
//   - cold: every guest boots its kernel (Config.NoSnapshots); also
//     reports ready, the boot until the agent takes the action;
//   - restore: every guest resumes the snapshot of a booted guest; also
//     reports restore-to-running, the time QEMU takes to be running again;
//   - sandbox: the same action in the sandbox runner, one sandbox
//     prepared ahead (as worker.sandbox.ready does) and refilled between
//     actions, outside the timing;
//   - sandbox-cold: the sandbox runner with none prepared ahead;
//   - process: as a plain child process, for scale.
//
// The microVM and process runs use the busybox toolchain of the tests.
// The sandbox cannot mount that (it lives under /tmp, which the sandbox
// makes its own), so its action runs the host's sh from /bin.
func BenchmarkStartToResult(b *testing.B) {
	b.Run("cold", func(b *testing.B) {
		var ready []time.Duration
		r := newTestRunner(b, func(c *Config) { c.NoSnapshots = true })
		r.started = func(_ bool, d time.Duration) { ready = append(ready, d) }
		logAccel(b, r)
		benchStartToResult(b, r, startToResult{env: testPath(), ready: &ready, readyMetric: "ready-median-ms"})
	})
	b.Run("restore", func(b *testing.B) {
		var ready []time.Duration
		r := newTestRunner(b, nil)
		r.started = func(warm bool, d time.Duration) {
			if !warm {
				b.Errorf("a guest booted cold although snapshots are on")
			}
			ready = append(ready, d)
		}
		logAccel(b, r)
		benchStartToResult(b, r, startToResult{env: testPath(), ready: &ready, readyMetric: "restore-to-running-median-ms"})
	})
	for _, sc := range []struct {
		name  string
		ready int
	}{{"sandbox", 1}, {"sandbox-cold", 0}} {
		b.Run(sc.name, func(b *testing.B) {
			r, err := sandbox.New(sandbox.Options{Ready: sc.ready})
			if err != nil {
				b.Skipf("no sandbox on this host: %v", err)
			}
			b.Cleanup(func() { r.Close() })
			cfg := startToResult{env: "PATH=/usr/bin:/bin"}
			if sc.ready > 0 {
				// Enough for the pool to prepare the next sandbox
				// (3–10 ms on an idle worker): the latency of an
				// action on a worker that is not saturated.
				cfg.pause = 200 * time.Millisecond
			}
			benchStartToResult(b, r, cfg)
		})
	}
	b.Run("process", func(b *testing.B) {
		testImage(b) // the busybox toolchain
		benchStartToResult(b, worker.NewProcessRunner(), startToResult{env: testPath()})
	})
}

// startToResult says how one runner is measured.
type startToResult struct {
	env string // PATH of the action
	// ready, when set, collects what the runner reports of each guest's
	// start; it is reported as readyMetric.
	ready       *[]time.Duration
	readyMetric string
	// pause comes before each timed action, outside the timing.
	pause time.Duration
}

// benchStartToResult runs the trivial action once untimed (snapshot
// made, caches warm), then b.N times, and reports the medians.
func benchStartToResult(b *testing.B, r worker.Runner, cfg startToResult) {
	trivialAction(b, r, cfg.env)
	if cfg.ready != nil {
		*cfg.ready = nil
	}
	var took []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if cfg.pause > 0 {
			b.StopTimer()
			time.Sleep(cfg.pause)
			b.StartTimer()
		}
		took = append(took, trivialAction(b, r, cfg.env))
	}
	b.StopTimer()
	b.ReportMetric(median(took).Seconds()*1000, "median-ms")
	if cfg.ready != nil && len(*cfg.ready) > 0 {
		b.ReportMetric(median(*cfg.ready).Seconds()*1000, cfg.readyMetric)
	}
	b.ReportMetric(0, "ns/op")
}

// trivialAction runs sh -c 'echo hi > out' in a fresh input root through
// r, checks its output and returns how long Run took.
func trivialAction(b *testing.B, r worker.Runner, env string) time.Duration {
	b.Helper()
	root := filepath.Join(b.TempDir(), "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	res, err := r.Run(context.Background(), &worker.Command{
		Args: []string{"sh", "-c", "echo hi > out"}, Env: []string{env},
		RootDir: root, WorkingDir: root, Timeout: time.Minute,
	})
	took := time.Since(start)
	if err != nil || res.ExitCode != 0 {
		b.Fatalf("Run: %+v, %v", res, err)
	}
	if got, err := os.ReadFile(filepath.Join(root, "out")); err != nil || string(got) != "hi\n" {
		b.Fatalf("out = %q, %v", got, err)
	}
	return took
}

// logAccel prints the VMM and its accelerator, which the numbers depend on.
func logAccel(b *testing.B, r *Runner) {
	b.Helper()
	name, err := r.VMMName(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("VMM: %s", name)
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
