package loadgen

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func sampleResults() []Result {
	return []Result{
		{Scenario: "bytestream-write/64MiB", Ops: 10, Items: 10, Bytes: 10 << 26, Concurrency: 2,
			Elapsed: 2 * time.Second, Latency: LatencySummary{Count: 10, P50: 150 * time.Millisecond, P99: 300 * time.Millisecond},
			Notes: []string{"generator 5µs/op (excluded)"}},
		{Scenario: "getactionresult", Ops: 100, Items: 90, Hits: 90, Misses: 10, Errors: 1, FirstError: "boom",
			Concurrency: 1, Elapsed: time.Second},
	}
}

func TestWriteTable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, sampleResults()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"scenario", "bytestream-write/64MiB", "335.5", "150ms", "300ms", // 10×64 MiB in 2 s = 335.5 MB/s
		"getactionresult", "hits 90, misses 10", "first error: boom", "generator 5µs/op",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sampleResults()); err != nil {
		t.Fatal(err)
	}
	var got []jsonResult
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d results, want 2", len(got))
	}
	w := got[0]
	if w.OpsPerSecond != 5 || w.Latency.P50 != 0.15 || w.Bytes != 10<<26 || w.Notes[0] == "" {
		t.Errorf("write result %+v", w)
	}
	if g := got[1]; g.Hits != 90 || g.Misses != 10 || g.Errors != 1 || g.FirstError != "boom" {
		t.Errorf("action cache result %+v", g)
	}
}
