package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ByteSize is a number of bytes that reads and prints in human units, so a
// config file can say "10GiB" instead of 10737418240.
type ByteSize int64

// Binary and decimal multiples accepted by ParseByteSize.
const (
	KiB ByteSize = 1 << (10 * (iota + 1))
	MiB
	GiB
	TiB
)

// byteUnits maps a lowercase unit to its multiplier. The one-letter forms
// (k, m, g, t) are binary, as in most tools that size caches and memory.
var byteUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
}

// ParseByteSize reads a size such as "4194304", "4MiB", "1.5 GiB" or "500MB".
// Units are case-insensitive; KiB/MiB/GiB/TiB and K/M/G/T are powers of 1024,
// KB/MB/GB/TB powers of 1000.
func ParseByteSize(s string) (ByteSize, error) {
	text := strings.TrimSpace(s)
	i := strings.IndexFunc(text, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r == '.')
	})
	if i < 0 {
		i = len(text)
	}
	number, unit := text[:i], strings.ToLower(strings.TrimSpace(text[i:]))
	if number == "" {
		return 0, fmt.Errorf("size %q has no number", s)
	}
	multiplier, ok := byteUnits[unit]
	if !ok {
		return 0, fmt.Errorf("size %q has unknown unit %q (use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)", s, text[i:])
	}
	if !strings.Contains(number, ".") {
		n, err := strconv.ParseInt(number, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("size %q: %w", s, err)
		}
		if n > math.MaxInt64/int64(multiplier) {
			return 0, fmt.Errorf("size %q is too large", s)
		}
		return ByteSize(n * int64(multiplier)), nil
	}
	f, err := strconv.ParseFloat(number, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	bytes := f * multiplier
	if bytes >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return ByteSize(bytes), nil
}

// String prints the size in the largest binary unit that divides it exactly,
// so that printing and parsing round-trip.
func (b ByteSize) String() string {
	for _, u := range []struct {
		name string
		size ByteSize
	}{{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}} {
		if b != 0 && b%u.size == 0 {
			return strconv.FormatInt(int64(b/u.size), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// Bytes returns b as a plain int64, for APIs that count bytes.
func (b ByteSize) Bytes() int64 { return int64(b) }

// UnmarshalText implements encoding.TextUnmarshaler, which YAML and flags
// both use. A bare YAML integer arrives here as its decimal text.
func (b *ByteSize) UnmarshalText(text []byte) error {
	v, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }
