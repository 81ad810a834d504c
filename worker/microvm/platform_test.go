package microvm

import (
	"errors"
	"testing"

	"github.com/kilnbuild/kiln/worker"
)

func TestShapeOf(t *testing.T) {
	c := Config{DefaultCPUs: 1, MaxCPUs: 4, DefaultMemoryMiB: 512, MaxMemoryMiB: 4096}
	for _, tc := range []struct {
		p    worker.Platform
		want shape
	}{
		{nil, shape{1, 512}},
		{worker.Platform{CPUProperty: {"2"}}, shape{2, 512}},
		{worker.Platform{CPUProperty: {"1.5"}}, shape{2, 512}},
		{worker.Platform{MemoryProperty: {"1GiB"}}, shape{1, 1024}},
		{worker.Platform{MemoryProperty: {"200000000"}}, shape{1, 191}},
		{worker.Platform{"OSFamily": {"linux"}}, shape{1, 512}},
	} {
		got, err := c.shapeOf(tc.p)
		if err != nil || got != tc.want {
			t.Errorf("shapeOf(%v) = %v, %v; want %v", tc.p, got, err, tc.want)
		}
	}
	for _, p := range []worker.Platform{
		{CPUProperty: {"0"}}, {CPUProperty: {"-1"}}, {CPUProperty: {"NaN"}}, {CPUProperty: {"5"}},
		{MemoryProperty: {"lots"}}, {MemoryProperty: {"64MiB"}}, {MemoryProperty: {"5GiB"}},
		{CPUProperty: {"1", "2"}},
	} {
		if _, err := c.shapeOf(p); !errors.Is(err, worker.ErrBadPlatform) {
			t.Errorf("shapeOf(%v): %v, want ErrBadPlatform", p, err)
		}
	}
}
