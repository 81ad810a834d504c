package sandbox

import (
	"context"
	"testing"
	"time"

	"github.com/kilnbuild/kiln/worker"
)

// BenchmarkTrivialAction runs /bin/true through the process runner and the
// sandbox runner in one run: the difference is what a sandbox adds per
// action (docs/bench.md records it).
//
//   - sandbox: the latency an action sees on a worker with sandboxes
//     prepared ahead (Options.Ready), the pool refilled between actions;
//   - sandbox-busy: back to back, each action also paying for preparing
//     the next sandbox: the CPU a sandbox costs when the worker is busy;
//   - sandbox-cold: no sandbox prepared ahead.
func BenchmarkTrivialAction(b *testing.B) {
	for _, rc := range []struct {
		name     string
		ready    int
		sandbox  bool
		waitPool bool
	}{
		{"process", 0, false, false},
		{"sandbox", 1, true, true},
		{"sandbox-busy", 1, true, false},
		{"sandbox-cgroup", 1, true, true},
		{"sandbox-cold", 0, true, false},
	} {
		b.Run(rc.name, func(b *testing.B) {
			var r worker.Runner = worker.NewProcessRunner()
			var sr *Runner
			if rc.sandbox {
				opts := Options{Ready: rc.ready}
				if rc.name == "sandbox-cgroup" {
					opts.CgroupParent = "kiln-sandbox-test"
				}
				sr = newTestRunner(b, opts)
				if rc.name == "sandbox-cgroup" && !sr.cgroups {
					b.Skip("no cgroups here")
				}
				b.Cleanup(func() { sr.Close() })
				r = sr
			}
			a := newAction(b)
			ctx := context.Background()
			for b.Loop() {
				if rc.waitPool {
					b.StopTimer()
					waitPoolFull(b, sr)
					b.StartTimer()
				}
				o := a.run(b, ctx, r, &worker.Command{Args: []string{"/bin/true"}, Timeout: time.Minute})
				if o.err != nil || o.res.ExitCode != 0 {
					b.Fatalf("run: %v, %+v", o.err, o.res)
				}
			}
		})
	}
}

// waitPoolFull waits until r keeps as many sandboxes ready as it should.
func waitPoolFull(tb testing.TB, r *Runner) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		r.pool.mu.Lock()
		full := len(r.pool.idle) >= r.pool.size
		r.pool.mu.Unlock()
		if full {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatal("the sandbox pool did not fill up within a minute")
		}
		time.Sleep(time.Millisecond)
	}
	// Ready means prepared, not just started.
	r.pool.mu.Lock()
	idle := append([]*sandboxProc(nil), r.pool.idle...)
	r.pool.mu.Unlock()
	for _, sp := range idle {
		if err := sp.awaitReady(); err != nil {
			tb.Fatal(err)
		}
	}
}
