package microvm

import (
	"context"
	"io"
)

// VMM starts guests. QEMU implements it; the interface is kept to what a
// Firecracker binary offers too (boot from kernel + initramfs, block
// devices, one serial port for the agent, snapshot to a memory file plus a
// state file, restore with other files behind the same devices), so that
// one can be added without touching the runner.
type VMM interface {
	// Name says which VMM and accelerator, for logs and benchmarks.
	Name() string
	// Start boots a machine, or resumes snap when it is not nil. The
	// machine is killed when ctx ends before Start returns; afterwards
	// only Kill stops it.
	Start(ctx context.Context, spec *MachineSpec, snap *Snapshot) (Machine, error)
}

// MachineSpec is one guest. A snapshot restores only into a spec that
// differs from the one it was taken of in the drives' paths, never in
// their number, order, serials or sizes.
type MachineSpec struct {
	Kernel    string
	Initramfs string
	Cmdline   string
	CPUs      int
	MemoryMiB int
	Drives    []Drive
	// Dir is a private directory for the machine's files (console log,
	// memory); the caller removes it.
	Dir string
	// Snapshottable backs guest memory with a file in Dir, so that
	// Snapshot can save it without copying it through the VMM.
	Snapshottable bool
}

// Drive is a raw block device; the guest agent finds it by Serial.
type Drive struct {
	Serial   string
	Path     string
	ReadOnly bool
}

// Machine is one running guest.
type Machine interface {
	// Control is the guest's control serial port (its ttyS1), where the
	// agent speaks guestproto. Reads fail once the machine is gone.
	Control() io.ReadWriter
	// Snapshot pauses the machine and saves it into dir (which must
	// exist); the machine is then stopped for good. Only a Snapshottable
	// machine can be saved.
	Snapshot(ctx context.Context, dir string) (*Snapshot, error)
	// Kill stops the machine at once and waits until its process is gone.
	// It may be called any number of times.
	Kill()
	// Exited is closed when the VMM process has ended.
	Exited() <-chan struct{}
	// ConsoleTail is the end of the guest's console, for error messages.
	ConsoleTail() string
}

// Snapshot is a saved guest: its memory (restored copy-on-write, so one
// snapshot serves any number of guests at once) and its device state.
type Snapshot struct {
	MemoryFile string
	StateFile  string
}
