package scheduler

import (
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	dto "github.com/prometheus/client_model/go"

	"github.com/kilnbuild/kiln/actioncache"
)

// gather returns the value of every sample of metric name, keyed by the
// value of label.
func gather(t *testing.T, e *env, name, label string) map[string]float64 {
	t.Helper()
	families, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					key = l.GetValue()
				}
			}
			out[key] = sampleValue(m)
		}
	}
	return out
}

func sampleValue(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetHistogram() != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return 0
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	e.queuedOperation(t, ctx, request(e.upload(t, spec{platform: []*repb.Platform_Property{prop("os", "linux")}})))
	if got := gather(t, e, "kiln_scheduler_queue_length", "platform"); got["os=linux"] != 1 {
		t.Errorf("queue_length = %v, want os=linux: 1", got)
	}
	if got := gather(t, e, "kiln_scheduler_operations", "stage"); got["queued"] != 1 || got["executing"] != 0 {
		t.Errorf("operations = %v, want queued: 1", got)
	}
	w := e.worker("w1", offer("os", "linux"))
	l := w.lease(t, ctx)
	w.complete(t, ctx, l, success(3, ""))

	hit := e.upload(t, spec{})
	e.ac.Put(ctx, actioncache.Key{Instance: "main", Action: hit}, &repb.ActionResult{})
	s, _ := e.exec.Execute(ctx, request(hit))
	collect(s)

	if got := gather(t, e, "kiln_scheduler_executions_total", "result"); got[resultExitNonZero] != 1 || got[resultCacheHit] != 1 || got[resultSuccess] != 0 {
		t.Errorf("executions_total = %v, want one exit_nonzero and one cache_hit", got)
	}
	if got := gather(t, e, "kiln_scheduler_dispatch_latency_seconds", ""); got[""] != 1 {
		t.Errorf("dispatch_latency count = %v, want 1", got)
	}
	if got := gather(t, e, "kiln_scheduler_queue_length", "platform"); got["os=linux"] != 0 {
		t.Errorf("queue_length after dispatch = %v", got)
	}
}
