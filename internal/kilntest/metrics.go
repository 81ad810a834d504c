package kilntest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Metric scrapes /metrics and returns the value of the sample called name:
// a metric's name alone for an unlabelled one, or with its labels as the
// text format prints them (sorted by label name), e.g.
// `kiln_scheduler_executions_total{result="success"}`. ok is false if kiln
// printed no metrics address or the sample is absent; a failed scrape
// fails t.
func (s *Server) Metric(t testing.TB, name string) (v float64, ok bool) {
	t.Helper()
	samples, ok := s.Metrics(t)
	if !ok {
		return 0, false
	}
	v, ok = samples[name]
	return v, ok
}

// MetricSum is the sum of every sample of the metric family name, whatever
// their labels; 0 if there is none. A counter vector's labels appear only
// once counted, so "how many executions ended in any way" is a sum.
func (s *Server) MetricSum(t testing.TB, name string) float64 {
	t.Helper()
	samples, _ := s.Metrics(t)
	sum := 0.0
	for key, v := range samples {
		if key == name || strings.HasPrefix(key, name+"{") {
			sum += v
		}
	}
	return sum
}

// Metrics scrapes /metrics and returns every sample, keyed as Metric names
// them. ok is false if kiln printed no metrics address; a failed scrape
// fails t.
func (s *Server) Metrics(t testing.TB) (samples map[string]float64, ok bool) {
	t.Helper()
	addr := s.MetricsAddr()
	if addr == "" {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scraping kiln's metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping kiln's metrics: %s", resp.Status)
	}
	samples, err = parseSamples(resp.Body)
	if err != nil {
		t.Fatalf("reading kiln's metrics: %v", err)
	}
	return samples, true
}

// parseSamples reads the Prometheus text format: comment lines, and sample
// lines "name value" or "name{labels} value", optionally with a timestamp.
func parseSamples(r io.Reader) (map[string]float64, error) {
	samples := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// Label values may hold spaces; the label set ends at the last '}'.
		end := strings.IndexByte(line, ' ')
		if brace := strings.IndexByte(line, '{'); brace >= 0 && (end < 0 || brace < end) {
			end = strings.LastIndexByte(line, '}') + 1
		}
		if end <= 0 {
			return nil, fmt.Errorf("cannot read sample line %q", line)
		}
		fields := strings.Fields(line[end:])
		if len(fields) == 0 {
			return nil, fmt.Errorf("sample line %q has no value", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("sample line %q: %w", line, err)
		}
		samples[line[:end]] = v
	}
	return samples, sc.Err()
}
