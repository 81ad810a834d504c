package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable prints results as an aligned plain-text table.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tconc\tops\terrors\tops/s\titems/s\tMB/s\tp50\tp90\tp99\tmax\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			r.Scenario, r.Concurrency, r.Ops, r.Errors, r.OpsPerSecond(),
			orDash(r.Items != r.Ops, "%.0f", r.ItemsPerSecond()),
			orDash(r.Bytes > 0, "%.1f", r.MBPerSecond()),
			FormatDuration(r.Latency.P50), FormatDuration(r.Latency.P90),
			FormatDuration(r.Latency.P99), FormatDuration(r.Latency.Max))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Notes and errors are long; they go under the table, one line each.
	for _, r := range results {
		var extra []string
		if r.Hits+r.Misses > 0 {
			extra = append(extra, fmt.Sprintf("hits %d, misses %d", r.Hits, r.Misses))
		}
		extra = append(extra, r.Notes...)
		if r.FirstError != "" {
			extra = append(extra, "first error: "+r.FirstError)
		}
		if len(extra) > 0 {
			if _, err := fmt.Fprintf(w, "  %s: %s\n", r.Scenario, strings.Join(extra, "; ")); err != nil {
				return err
			}
		}
	}
	return nil
}

func orDash(ok bool, format string, v float64) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

// jsonResult is the machine-readable form of a Result: rates computed,
// durations in seconds.
type jsonResult struct {
	Scenario         string   `json:"scenario"`
	Concurrency      int      `json:"concurrency"`
	Ops              int64    `json:"ops"`
	Items            int64    `json:"items"`
	Bytes            int64    `json:"bytes"`
	Errors           int64    `json:"errors"`
	FirstError       string   `json:"first_error,omitempty"`
	Hits             int64    `json:"hits,omitempty"`
	Misses           int64    `json:"misses,omitempty"`
	ElapsedSeconds   float64  `json:"elapsed_seconds"`
	GeneratorSeconds float64  `json:"generator_seconds"`
	OpsPerSecond     float64  `json:"ops_per_second"`
	ItemsPerSecond   float64  `json:"items_per_second"`
	MBPerSecond      float64  `json:"mb_per_second"`
	Latency          jsonLat  `json:"latency_seconds"`
	Notes            []string `json:"notes,omitempty"`
}

type jsonLat struct {
	Count int     `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// WriteJSON prints results as a JSON array.
func WriteJSON(w io.Writer, results []Result) error {
	out := make([]jsonResult, len(results))
	for i, r := range results {
		l := r.Latency
		out[i] = jsonResult{
			Scenario: r.Scenario, Concurrency: r.Concurrency,
			Ops: r.Ops, Items: r.Items, Bytes: r.Bytes, Errors: r.Errors, FirstError: r.FirstError,
			Hits: r.Hits, Misses: r.Misses,
			ElapsedSeconds: r.Elapsed.Seconds(), GeneratorSeconds: r.GeneratorTime.Seconds(),
			OpsPerSecond: r.OpsPerSecond(), ItemsPerSecond: r.ItemsPerSecond(), MBPerSecond: r.MBPerSecond(),
			Latency: jsonLat{
				Count: l.Count, Min: l.Min.Seconds(), Mean: l.Mean.Seconds(),
				P50: l.P50.Seconds(), P90: l.P90.Seconds(), P99: l.P99.Seconds(), Max: l.Max.Seconds(),
			},
			Notes: r.Notes,
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
