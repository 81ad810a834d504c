package actioncache

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Values of the result label of kiln_actioncache_requests_total.
const (
	resultHit          = "hit"
	resultMiss         = "miss"
	resultStored       = "stored"
	resultInvalid      = "invalid"
	resultMissingBlobs = "missing_blobs"
	resultDenied       = "denied"
	resultError        = "error"
)

// serverMetrics counts ActionCache requests by method and outcome.
type serverMetrics struct {
	requests *prometheus.CounterVec
}

// newServerMetrics registers the counters with reg; nil reg keeps them
// unregistered. A second server on the same registry shares the counters.
func newServerMetrics(reg prometheus.Registerer) *serverMetrics {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kiln_actioncache_requests_total",
		Help: "ActionCache requests by method and result (hit, miss, stored, invalid, missing_blobs, denied, error).",
	}, []string{"method", "result"})
	if reg != nil {
		if err := reg.Register(requests); err != nil {
			var dup prometheus.AlreadyRegisteredError
			if !errors.As(err, &dup) {
				panic(err) // a programming error: a conflicting metric of the same name
			}
			requests = dup.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return &serverMetrics{requests: requests}
}

func (m *serverMetrics) count(method, result string) {
	m.requests.WithLabelValues(method, result).Inc()
}
