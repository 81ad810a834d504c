package microvm

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/kilnbuild/kiln/worker"
)

// BenchmarkStartToResult runs one trivial action (sh -c 'echo hi > out')
// per iteration and reports the median, not the mean: run it with
// -benchtime=10x for the median of 10 in one run (docs/bench.md).
//
//   - cold: every guest boots its kernel (Config.NoSnapshots);
//   - restore: every guest resumes the snapshot of a booted guest; also
//     reports restore-to-running, the time QEMU takes to be running again;
//   - process: the same action as a plain child process, for scale.
func BenchmarkStartToResult(b *testing.B) {
	trivial := func(b *testing.B, r worker.Runner) time.Duration {
		root := filepath.Join(b.TempDir(), "root")
		if err := os.MkdirAll(root, 0o755); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		res, err := r.Run(context.Background(), &worker.Command{
			Args: []string{"sh", "-c", "echo hi > out"}, Env: []string{testPath()},
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
	bench := func(b *testing.B, r worker.Runner, ready *[]time.Duration) {
		trivial(b, r) // snapshot made, caches warm
		if ready != nil {
			*ready = nil
		}
		var took []time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			took = append(took, trivial(b, r))
		}
		b.StopTimer()
		b.ReportMetric(median(took).Seconds()*1000, "median-ms")
		if ready != nil && len(*ready) > 0 {
			b.ReportMetric(median(*ready).Seconds()*1000, "ready-median-ms")
		}
		b.ReportMetric(0, "ns/op")
	}
	b.Run("cold", func(b *testing.B) {
		var ready []time.Duration
		r := newTestRunner(b, func(c *Config) { c.NoSnapshots = true })
		r.started = func(_ bool, d time.Duration) { ready = append(ready, d) }
		bench(b, r, &ready)
		name, _ := r.VMMName(context.Background())
		b.Logf("VMM: %s", name)
	})
	b.Run("restore", func(b *testing.B) {
		var ready []time.Duration
		r := newTestRunner(b, nil)
		r.started = func(_ bool, d time.Duration) { ready = append(ready, d) }
		bench(b, r, &ready)
	})
	b.Run("process", func(b *testing.B) {
		testImage(b) // the busybox toolchain
		bench(b, worker.NewProcessRunner(), nil)
	})
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
