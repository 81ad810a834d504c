package cgroup

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/kilnbuild/kiln/internal/config"
)

// Platform property names by which an action asks for limits. An action may
// ask for less than the worker's maximum, never for more.
const (
	// MemoryProperty is the memory limit: bytes, or a size with a unit,
	// e.g. "512MiB", "2GiB", "500MB" (KiB/MiB/GiB and K/M/G are powers of
	// 1024, KB/MB/GB powers of 1000).
	MemoryProperty = "memory"
	// CPUProperty is the CPU quota in cores, fractions allowed ("2",
	// "0.5"), or in millicores with an "m" suffix ("500m").
	CPUProperty = "cpu"
	// PidsProperty is the most processes and threads that may exist at
	// once, e.g. "1024".
	PidsProperty = "pids"
)

// Limits bounds the resources of one cgroup. Zero means unlimited.
type Limits struct {
	// MemoryBytes bounds memory (and swap: none is allowed beyond it).
	MemoryBytes int64
	// CPUMillis is a CPU quota in millicores: 1000 is one core's time.
	CPUMillis int64
	// Pids bounds the number of processes and threads.
	Pids int64
}

// Smallest limits the kernel accepts or that leave room to exec anything.
const (
	minMemoryBytes = 1 << 20
	minCPUMillis   = 10 // the kernel's smallest CFS quota is 1ms per 100ms period
	minPids        = 1
)

// ErrBadLimit is wrapped by LimitsFromPlatform's error when a property is
// malformed or asks for more than the worker allows. Runners wrap it in
// worker.ErrBadPlatform, which makes it the client's fault.
var ErrBadLimit = errors.New("bad resource limit")

// LimitsFromPlatform reads the limits an action asks for from its platform
// properties (MemoryProperty, CPUProperty, PidsProperty). A limit the action
// does not name is the worker's default, or its maximum when the default is
// unlimited; one above the maximum (when the maximum is not zero) is an error
// wrapping ErrBadLimit whose message says which limit and both values.
// Other properties are ignored.
func LimitsFromPlatform(platform map[string][]string, defaults, max Limits) (Limits, error) {
	out := Limits{
		MemoryBytes: orMax(defaults.MemoryBytes, max.MemoryBytes),
		CPUMillis:   orMax(defaults.CPUMillis, max.CPUMillis),
		Pids:        orMax(defaults.Pids, max.Pids),
	}
	for _, l := range []struct {
		name  string
		parse func(string) (int64, error)
		max   int64
		min   int64
		dst   *int64
		show  func(int64) string
	}{
		{MemoryProperty, parseMemory, max.MemoryBytes, minMemoryBytes, &out.MemoryBytes, showBytes},
		{CPUProperty, parseCPU, max.CPUMillis, minCPUMillis, &out.CPUMillis, showCPU},
		{PidsProperty, parsePids, max.Pids, minPids, &out.Pids, showCount},
	} {
		values, ok := platform[l.name]
		if !ok {
			continue
		}
		if len(values) != 1 {
			return Limits{}, fmt.Errorf("%w: %s is given %d times (%v); give it once", ErrBadLimit, l.name, len(values), values)
		}
		v, err := l.parse(values[0])
		if err != nil {
			return Limits{}, fmt.Errorf("%w: %s=%s: %w", ErrBadLimit, l.name, values[0], err)
		}
		if v < l.min {
			return Limits{}, fmt.Errorf("%w: %s=%s is below the smallest allowed, %s", ErrBadLimit, l.name, values[0], l.show(l.min))
		}
		if l.max > 0 && v > l.max {
			return Limits{}, fmt.Errorf("%w: %s=%s is more than this worker allows, %s", ErrBadLimit, l.name, values[0], l.show(l.max))
		}
		*l.dst = v
	}
	return out, nil
}

// orMax is def, or max when def is unlimited or above max.
func orMax(def, max int64) int64 {
	if max > 0 && (def <= 0 || def > max) {
		return max
	}
	return def
}

func parseMemory(s string) (int64, error) {
	n, err := config.ParseByteSize(s)
	if err != nil {
		return 0, err
	}
	return int64(n), nil
}

// parseCPU reads cores ("2", "0.25") or millicores ("250m").
func parseCPU(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if m, ok := strings.CutSuffix(s, "m"); ok {
		n, err := strconv.ParseInt(m, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("millicores must be a whole number, e.g. 500m")
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("not a number of cores (e.g. 2, 0.5 or 500m)")
	}
	if f > 1e9 {
		return 0, fmt.Errorf("too many cores")
	}
	return int64(math.Round(f * 1000)), nil
}

func parsePids(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a whole number of processes")
	}
	return n, nil
}

func showBytes(n int64) string { return config.ByteSize(n).String() }
func showCPU(n int64) string   { return strconv.FormatFloat(float64(n)/1000, 'f', -1, 64) + " cores" }
func showCount(n int64) string { return strconv.FormatInt(n, 10) }

// String describes the limits for logs: "memory=512MiB cpu=2 cores pids=1024".
func (l Limits) String() string {
	show := func(v int64, f func(int64) string) string {
		if v <= 0 {
			return "unlimited"
		}
		return f(v)
	}
	return fmt.Sprintf("memory=%s cpu=%s pids=%s", show(l.MemoryBytes, showBytes), show(l.CPUMillis, showCPU), show(l.Pids, showCount))
}
