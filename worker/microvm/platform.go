package microvm

import (
	"fmt"
	"math"
	"runtime"
	"strconv"

	"github.com/kilnbuild/kiln/internal/config"
	"github.com/kilnbuild/kiln/worker"
)

// Platform properties sizing a guest; the sandbox runner reads the same
// names as cgroup limits.
const (
	// CPUProperty is the number of vCPUs; a fraction rounds up.
	CPUProperty = "cpu"
	// MemoryProperty is the guest's memory: bytes or a size with a unit.
	MemoryProperty = "memory"
)

// shape is a guest's size; snapshots are per shape.
type shape struct {
	CPUs      int
	MemoryMiB int
}

func (s shape) String() string { return fmt.Sprintf("%dcpu-%dmib", s.CPUs, s.MemoryMiB) }

// shapeOf reads the guest size an action asks for.
func (c *Config) shapeOf(p worker.Platform) (shape, error) {
	s := shape{CPUs: c.DefaultCPUs, MemoryMiB: c.DefaultMemoryMiB}
	if v, err := single(p, CPUProperty); err != nil {
		return s, err
	} else if v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			return s, fmt.Errorf("%w: %s=%q is not a positive number of CPUs", worker.ErrBadPlatform, CPUProperty, v)
		}
		if math.Ceil(f) > float64(c.MaxCPUs) {
			return s, fmt.Errorf("%w: %s=%s is more than the %d vCPUs a microVM may have here", worker.ErrBadPlatform, CPUProperty, v, c.MaxCPUs)
		}
		s.CPUs = int(math.Ceil(f))
	}
	if v, err := single(p, MemoryProperty); err != nil {
		return s, err
	} else if v != "" {
		b, err := config.ParseByteSize(v)
		if err != nil {
			return s, fmt.Errorf("%w: %s=%q: %w", worker.ErrBadPlatform, MemoryProperty, v, err)
		}
		mib := (int64(b) + 1<<20 - 1) >> 20
		if mib < 128 {
			return s, fmt.Errorf("%w: %s=%s is less than the 128MiB a microVM needs", worker.ErrBadPlatform, MemoryProperty, v)
		}
		if mib > int64(c.MaxMemoryMiB) {
			return s, fmt.Errorf("%w: %s=%s is more than the %dMiB a microVM may have here", worker.ErrBadPlatform, MemoryProperty, v, c.MaxMemoryMiB)
		}
		s.MemoryMiB = int(mib)
	}
	return s, nil
}

func single(p worker.Platform, name string) (string, error) {
	v := p[name]
	if len(v) > 1 {
		return "", fmt.Errorf("%w: %s is given %d times (%v); give it once", worker.ErrBadPlatform, name, len(v), v)
	}
	if len(v) == 0 {
		return "", nil
	}
	return v[0], nil
}

func hostCPUs() int { return runtime.NumCPU() }
