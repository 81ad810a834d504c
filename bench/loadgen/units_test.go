package loadgen

import (
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"4KiB": 4 << 10, "64MiB": 64 << 20, "1M": 1 << 20, "512": 512, "2GiB": 2 << 30, "7B": 7, " 1 KiB": 1 << 10,
	} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "KiB", "-1", "1.5MiB", "1TiB", "9999999999GiB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) succeeded, want an error", in)
		}
	}
}

func TestFormatSizeRoundTrips(t *testing.T) {
	for _, n := range []int64{4 << 10, 1 << 20, 64 << 20, 1000, 1 << 30, 1536} {
		s := FormatSize(n)
		back, err := ParseSize(s)
		if err != nil || back != n {
			t.Errorf("FormatSize(%d) = %q, parses back to %d, %v", n, s, back, err)
		}
	}
	if got := FormatSize(1536); got != "1536B" {
		t.Errorf("FormatSize(1536) = %q, want 1536B", got)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0", 500: "500ns", 1500: "1.5µs", 12345678: "12.3ms", 2500 * time.Millisecond: "2.5s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%d) = %q, want %q", d, got, want)
		}
	}
}
