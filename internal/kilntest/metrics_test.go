package kilntest

import (
	"strings"
	"testing"
)

func TestParseSamples(t *testing.T) {
	text := `# HELP kiln_scheduler_executions_total Finished operations by result.
# TYPE kiln_scheduler_executions_total counter
kiln_scheduler_executions_total{result="cache_hit"} 3
kiln_scheduler_executions_total{result="success"} 1
kiln_scheduler_queue_length{platform="OSFamily=linux ISA=x86-64"} 2
kiln_up 1
go_gc_duration_seconds{quantile="0.5"} 1.5e-05 1700000000000
`
	got, err := parseSamples(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		`kiln_scheduler_executions_total{result="cache_hit"}`:               3,
		`kiln_scheduler_executions_total{result="success"}`:                 1,
		`kiln_scheduler_queue_length{platform="OSFamily=linux ISA=x86-64"}`: 2,
		`kiln_up`:                                1,
		`go_gc_duration_seconds{quantile="0.5"}`: 1.5e-05,
	}
	if len(got) != len(want) {
		t.Errorf("got %d samples %v, want %d", len(got), got, len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("sample %s = %v (present: %v), want %v", k, got[k], got[k] != 0, v)
		}
	}
	if _, err := parseSamples(strings.NewReader("kiln_up\n")); err == nil {
		t.Error("a sample line without a value was accepted")
	}
}
