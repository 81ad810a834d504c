package loadgen

import (
	"testing"
	"time"
)

func TestSummarizeNearestRank(t *testing.T) {
	// 1..100 ms in reverse order: the p-th percentile is p ms exactly.
	var samples []time.Duration
	for i := 100; i >= 1; i-- {
		samples = append(samples, time.Duration(i)*time.Millisecond)
	}
	got := Summarize(samples)
	want := LatencySummary{
		Count: 100, Min: time.Millisecond, Max: 100 * time.Millisecond,
		Mean: 50500 * time.Microsecond,
		P50:  50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond,
	}
	if got != want {
		t.Errorf("Summarize = %+v, want %+v", got, want)
	}
}

func TestSummarizeFewSamples(t *testing.T) {
	got := Summarize([]time.Duration{3, 1, 2})
	if got.P50 != 2 || got.P90 != 3 || got.P99 != 3 || got.Min != 1 {
		t.Errorf("Summarize(3 samples) = %+v", got)
	}
	if got := Summarize(nil); got != (LatencySummary{}) {
		t.Errorf("Summarize(nil) = %+v, want zero", got)
	}
}
