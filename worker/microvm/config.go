package microvm

import (
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"time"
)

// Accelerator choices of Config.Accel.
const (
	AccelAuto = "auto"
)

// Config is how a Runner runs guests.
type Config struct {
	// QEMU is the qemu-system-x86_64 binary; empty looks it up in PATH.
	QEMU string
	// ImageDir holds the guest image `kiln microvm image` built.
	ImageDir string
	// StateDir holds snapshots (kept across restarts, keyed by what they
	// were taken of) and the files of running guests (wiped at start).
	StateDir string
	// Accel is AccelAuto (KVM when a guest really boots under it, else
	// TCG), AccelKVM or AccelTCG.
	Accel string
	// DefaultCPUs and DefaultMemoryMiB size guests whose platform does
	// not ask; MaxCPUs and MaxMemoryMiB bound what a platform may ask.
	DefaultCPUs, MaxCPUs           int
	DefaultMemoryMiB, MaxMemoryMiB int
	// DiskBytes is the size of each guest's input disk (inputs plus all
	// the action writes) and of its output device. Both are sparse files.
	DiskBytes int64
	// NoSnapshots boots every guest cold (for benchmarks and debugging).
	NoSnapshots bool
	// BootTimeout bounds a cold boot to the agent's readiness.
	BootTimeout time.Duration
	// TSCKHz is the host's TSC frequency, which a TCG guest must be told;
	// zero reads it from the host.
	TSCKHz int
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultCPUs        = 1
	DefaultMemoryMiB   = 1024
	DefaultMaxMemory   = 16 << 10
	DefaultDiskBytes   = 32 << 30
	DefaultBootTimeout = 2 * time.Minute
)

func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.ImageDir == "" || out.StateDir == "" {
		return out, errors.New("microvm: ImageDir and StateDir are required")
	}
	if out.QEMU == "" {
		p, err := exec.LookPath("qemu-system-x86_64")
		if err != nil {
			return out, fmt.Errorf("microvm: %w (install qemu-system-x86)", err)
		}
		out.QEMU = p
	}
	switch out.Accel {
	case "":
		out.Accel = AccelAuto
	case AccelAuto, AccelKVM, AccelTCG:
	default:
		return out, fmt.Errorf("microvm: accelerator %q is not %s, %s or %s", out.Accel, AccelAuto, AccelKVM, AccelTCG)
	}
	if out.DefaultCPUs <= 0 {
		out.DefaultCPUs = DefaultCPUs
	}
	if out.MaxCPUs <= 0 {
		out.MaxCPUs = max(out.DefaultCPUs, hostCPUs())
	}
	if out.DefaultMemoryMiB <= 0 {
		out.DefaultMemoryMiB = DefaultMemoryMiB
	}
	if out.MaxMemoryMiB <= 0 {
		out.MaxMemoryMiB = max(out.DefaultMemoryMiB, DefaultMaxMemory)
	}
	if out.DefaultCPUs > out.MaxCPUs || out.DefaultMemoryMiB > out.MaxMemoryMiB {
		return out, errors.New("microvm: the default guest size is over the maximum")
	}
	if out.DiskBytes <= 0 {
		out.DiskBytes = DefaultDiskBytes
	}
	if out.BootTimeout <= 0 {
		out.BootTimeout = DefaultBootTimeout
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	return out, nil
}
