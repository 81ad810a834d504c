package scheduler

import (
	"context"
	"strings"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Results an execution can end with, the label of executions_total.
const (
	resultCacheHit    = "cache_hit"
	resultSuccess     = "success"
	resultExitNonZero = "exit_nonzero"
	resultError       = "error"
	resultCancelled   = "cancelled"
	resultLost        = "lost"
	resultNoWorker    = "no_worker"
	resultQueueExpiry = "queue_expired"
)

type metrics struct {
	reg             prometheus.Registerer
	collectors      []prometheus.Collector
	dispatchLatency prometheus.Histogram
	executions      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, state State) (*metrics, error) {
	m := &metrics{
		reg: reg,
		dispatchLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "kiln", Subsystem: "scheduler", Name: "dispatch_latency_seconds",
			Help:    "Time from an action entering its queue to a worker leasing it.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
		executions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kiln", Subsystem: "scheduler", Name: "executions_total",
			Help: "Finished operations by result.",
		}, []string{"result"}),
	}
	m.collectors = []prometheus.Collector{m.dispatchLatency, m.executions, &stateCollector{state: state}}
	if reg == nil {
		return m, nil
	}
	for i, c := range m.collectors {
		if err := reg.Register(c); err != nil {
			for _, done := range m.collectors[:i] {
				reg.Unregister(done)
			}
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
}

func (m *metrics) finished(result string) { m.executions.WithLabelValues(result).Inc() }

// resultOf classifies a response a worker reported.
func resultOf(r *repb.ExecuteResponse) string {
	switch {
	case r.GetStatus().GetCode() != 0:
		return resultError
	case r.GetResult().GetExitCode() != 0:
		return resultExitNonZero
	}
	return resultSuccess
}

// emptyPlatformLabel labels the queue of actions that ask for nothing; a
// real key never looks like it, since PlatformKey escapes parentheses.
const emptyPlatformLabel = "(empty)"

var (
	queueLengthDesc = prometheus.NewDesc("kiln_scheduler_queue_length",
		"Queued actions by platform key.", []string{"platform"}, nil)
	operationsDesc = prometheus.NewDesc("kiln_scheduler_operations",
		"Operations by stage, completed ones still retained included.", []string{"stage"}, nil)
)

// stateCollector reads queue lengths and stages from the State at scrape
// time, so that they are right across replicas sharing one State.
type stateCollector struct{ state State }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueLengthDesc
	ch <- operationsDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.state.Stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueLengthDesc, err)
		return
	}
	for key, n := range st.QueueLengths {
		if key == "" {
			key = emptyPlatformLabel
		}
		ch <- prometheus.MustNewConstMetric(queueLengthDesc, prometheus.GaugeValue, float64(n), key)
	}
	for _, stage := range []repb.ExecutionStage_Value{
		repb.ExecutionStage_CACHE_CHECK, repb.ExecutionStage_QUEUED,
		repb.ExecutionStage_EXECUTING, repb.ExecutionStage_COMPLETED,
	} {
		ch <- prometheus.MustNewConstMetric(operationsDesc, prometheus.GaugeValue,
			float64(st.Stages[stage]), strings.ToLower(stage.String()))
	}
}
