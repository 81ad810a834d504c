package kilntest

import (
	"bufio"
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metricsAddrLine finds the metrics endpoint in kiln's banner
// ("Metrics: http://127.0.0.1:PORT/metrics", see cmd/kiln/up.go).
var metricsAddrLine = regexp.MustCompile(`http://(127\.0\.0\.1:[1-9]\d*)/metrics`)

// MetricsAddr is the host:port of kiln's /metrics endpoint as kiln printed
// it, or "" if it printed none.
func (s *Server) MetricsAddr() string {
	m := metricsAddrLine.FindStringSubmatch(s.Output())
	if m == nil {
		return ""
	}
	return m[1]
}

// Metric scrapes /metrics and returns the value of the sample of an
// unlabelled metric called name. ok is false if kiln printed no metrics
// address or the metric is absent; a failed scrape fails t.
func (s *Server) Metric(t testing.TB, name string) (v float64, ok bool) {
	t.Helper()
	addr := s.MetricsAddr()
	if addr == "" {
		return 0, false
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
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// Text exposition format: "name value" for an unlabelled sample.
		rest, found := strings.CutPrefix(sc.Text(), name+" ")
		if !found {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		if err != nil {
			t.Fatalf("metric %s has value %q: %v", name, rest, err)
		}
		return v, true
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading kiln's metrics: %v", err)
	}
	return 0, false
}
