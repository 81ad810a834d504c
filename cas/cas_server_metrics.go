package cas

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// casServerMetrics counts what the CAS service does for clients.
type casServerMetrics struct {
	// digestsChecked counts FindMissingBlobs digests by result
	// ("present" or "missing"): the cache hit rate of uploads.
	digestsChecked *prometheus.CounterVec
	// batchBytes counts blob bytes by operation ("read" or "update").
	batchBytes *prometheus.CounterVec
}

func newCASServerMetrics(reg prometheus.Registerer) *casServerMetrics {
	return &casServerMetrics{
		digestsChecked: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kiln_cas_find_missing_digests_total",
			Help: "Digests checked by FindMissingBlobs, by result (present or missing).",
		}, []string{"result"})),
		batchBytes: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kiln_cas_batch_bytes_total",
			Help: "Uncompressed blob bytes moved by BatchReadBlobs and BatchUpdateBlobs, by operation (read or update).",
		}, []string{"op"})),
	}
}

// register registers c with reg (nil means no registry) and returns the
// collector to use: the one already registered under the same name if
// another server registered it first, so two servers can share a registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// A clash of names with another kind of metric is a programming
		// error in the wiring; counting into an unregistered collector is
		// the harmless way to survive it.
	}
	return c
}
