package cas

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// diskMetrics are the DiskStore's Prometheus metrics. The gauges are read
// from the index at scrape time, so the hot paths only ever touch the two
// eviction counters.
type diskMetrics struct {
	registerer   prometheus.Registerer
	collectors   []prometheus.Collector
	evictions    prometheus.Counter
	evictedBytes prometheus.Counter
	registered   bool
}

// newDiskMetrics builds the metrics of s, unregistered.
func newDiskMetrics(s *DiskStore) *diskMetrics {
	m := &diskMetrics{
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kiln_cas_disk_evictions_total",
			Help: "Blobs the disk CAS deleted to stay under its size cap.",
		}),
		evictedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kiln_cas_disk_evicted_bytes_total",
			Help: "Bytes of blobs the disk CAS deleted to stay under its size cap.",
		}),
	}
	m.collectors = []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "kiln_cas_disk_bytes",
			Help: "Bytes of blobs held by the disk CAS (blob sizes, not disk blocks).",
		}, func() float64 { return float64(s.SizeBytes()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "kiln_cas_disk_blobs",
			Help: "Blobs held by the disk CAS.",
		}, func() float64 { return float64(s.blobCount()) }),
		m.evictions,
		m.evictedBytes,
	}
	return m
}

// register registers the metrics with reg; nil reg means no metrics.
// Callers that run several disk stores in one registry tell them apart with
// prometheus.WrapRegistererWith.
func (m *diskMetrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for i, c := range m.collectors {
		if err := reg.Register(c); err != nil {
			for _, done := range m.collectors[:i] {
				reg.Unregister(done)
			}
			return fmt.Errorf("registering disk CAS metrics: %w", err)
		}
	}
	m.registerer = reg
	m.registered = true
	return nil
}

// evicted counts blobs deleted by eviction.
func (m *diskMetrics) evicted(blobs int, bytes int64) {
	m.evictions.Add(float64(blobs))
	m.evictedBytes.Add(float64(bytes))
}

// unregister removes the metrics from their registerer, so that a store
// reopened in the same process can register again.
func (m *diskMetrics) unregister() error {
	if !m.registered {
		return nil
	}
	m.registered = false
	var errs []error
	for _, c := range m.collectors {
		if !m.registerer.Unregister(c) {
			errs = append(errs, errors.New("a disk CAS metric was not registered"))
		}
	}
	return errors.Join(errs...)
}
