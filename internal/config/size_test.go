package config

import (
	"testing"

	"gopkg.in/yaml.v3"
)

func TestParseByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ByteSize
	}{
		{"0", 0},
		{"4194304", 4 * MiB},
		{"512B", 512},
		{"1KiB", 1024},
		{"1k", 1024},
		{"4MiB", 4 * MiB},
		{"4 MiB", 4 * MiB},
		{"4mib", 4 * MiB},
		{"10GiB", 10 * GiB},
		{"10G", 10 * GiB},
		{"2TiB", 2 * TiB},
		{"500MB", 500_000_000},
		{"1GB", 1_000_000_000},
		{"1.5GiB", 3 * GiB / 2},
		{" 7 ", 7},
	} {
		got, err := ParseByteSize(tc.in)
		if err != nil {
			t.Errorf("ParseByteSize(%q) error: %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseByteSize(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestParseByteSizeRejects(t *testing.T) {
	for _, in := range []string{"", "GiB", "-1", "1 PiB", "ten", "1.2.3MiB", "9999999999TiB", "1e3", "1..5G"} {
		if got, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestByteSizeStringRoundTrips(t *testing.T) {
	for _, b := range []ByteSize{0, 1, 1000, KiB, 4 * MiB, 10 * GiB, 3 * TiB, 3*GiB + 1} {
		got, err := ParseByteSize(b.String())
		if err != nil || got != b {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", b.String(), got, err, b)
		}
	}
	if s := (10 * GiB).String(); s != "10GiB" {
		t.Errorf("String() = %q, want 10GiB", s)
	}
}

func TestByteSizeFromYAML(t *testing.T) {
	var v struct {
		A ByteSize `yaml:"a"`
		B ByteSize `yaml:"b"`
	}
	if err := yaml.Unmarshal([]byte("a: 10GiB\nb: 2048\n"), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != 10*GiB || v.B != 2048 {
		t.Errorf("got a=%d b=%d, want %d and 2048", v.A, v.B, 10*GiB)
	}
}
