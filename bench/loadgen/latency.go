package loadgen

import (
	"slices"
	"time"
)

// LatencySummary describes a set of operation durations. Percentiles use the
// nearest-rank method on the sorted samples: exact, and cheap enough for the
// few hundred thousand samples a run produces.
type LatencySummary struct {
	Count         int
	Min, Max      time.Duration
	Mean          time.Duration
	P50, P90, P99 time.Duration
}

// Summarize sorts samples in place and summarises them.
func Summarize(samples []time.Duration) LatencySummary {
	if len(samples) == 0 {
		return LatencySummary{}
	}
	slices.Sort(samples)
	var sum time.Duration
	for _, s := range samples {
		sum += s
	}
	return LatencySummary{
		Count: len(samples),
		Min:   samples[0],
		Max:   samples[len(samples)-1],
		Mean:  sum / time.Duration(len(samples)),
		P50:   percentile(samples, 50),
		P90:   percentile(samples, 90),
		P99:   percentile(samples, 99),
	}
}

// percentile returns the nearest-rank p-th percentile of sorted samples: the
// smallest sample that at least p percent of the samples do not exceed.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}
