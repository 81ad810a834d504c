package cas

import "github.com/prometheus/client_golang/prometheus"

// byteStreamMetrics counts what the ByteStream service moves.
type byteStreamMetrics struct {
	// bytes counts bytes on the wire by direction ("read" or "write") and
	// compressor ("identity" or "zstd").
	bytes *prometheus.CounterVec
	// uploads counts finished Write calls by outcome: "stored",
	// "already_present" (ended early) or "failed".
	uploads *prometheus.CounterVec
}

func newByteStreamMetrics(reg prometheus.Registerer) *byteStreamMetrics {
	return &byteStreamMetrics{
		bytes: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kiln_bytestream_bytes_total",
			Help: "Bytes sent by ByteStream Read and received by Write, by direction and compressor.",
		}, []string{"direction", "compressor"})),
		uploads: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kiln_bytestream_uploads_total",
			Help: "ByteStream uploads by outcome (stored, already_present, failed).",
		}, []string{"outcome"})),
	}
}
