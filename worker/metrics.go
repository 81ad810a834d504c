package worker

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the worker's Prometheus series.
type metrics struct {
	actions         *prometheus.CounterVec // by outcome
	running         prometheus.Gauge
	stageSeconds    *prometheus.HistogramVec // by stage
	cacheHits       prometheus.Counter
	cacheMisses     prometheus.Counter
	cacheEvictions  prometheus.Counter
	cacheBytes      prometheus.Gauge
	gatewayFailures *prometheus.CounterVec // by rpc
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kiln_worker_actions_total",
			Help: "Actions the worker finished, by outcome (the gRPC code of the ExecuteResponse status, or abandoned).",
		}, []string{"outcome"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kiln_worker_running_actions",
			Help: "Actions the worker holds a lease for right now.",
		}),
		stageSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kiln_worker_stage_seconds",
			Help:    "Time spent per action stage: input_fetch, execution, output_upload.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 10),
		}, []string{"stage"}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kiln_worker_file_cache_hits_total",
			Help: "Input files served from the local file cache.",
		}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kiln_worker_file_cache_misses_total",
			Help: "Input files fetched from the CAS into the local file cache.",
		}),
		cacheEvictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kiln_worker_file_cache_evictions_total",
			Help: "Files evicted from the local file cache to stay under its size bound.",
		}),
		cacheBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kiln_worker_file_cache_bytes",
			Help: "Bytes held by the local file cache.",
		}),
		gatewayFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kiln_worker_gateway_failures_total",
			Help: "Failed calls to the scheduler's worker gateway, by RPC.",
		}, []string{"rpc"}),
	}
	if reg == nil {
		return m
	}
	m.actions = register(reg, m.actions)
	m.running = register(reg, m.running)
	m.stageSeconds = register(reg, m.stageSeconds)
	m.cacheHits = register(reg, m.cacheHits)
	m.cacheMisses = register(reg, m.cacheMisses)
	m.cacheEvictions = register(reg, m.cacheEvictions)
	m.cacheBytes = register(reg, m.cacheBytes)
	m.gatewayFailures = register(reg, m.gatewayFailures)
	return m
}

// register registers c, or returns the collector already registered under
// its name, so that several agents in one process can share a registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	return c
}
