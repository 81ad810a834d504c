// Package microvm is the microVM runner: each action runs in its own
// short-lived virtual machine, whose /init is Kiln's guest agent
// (worker/microvm/agent), and the machine is destroyed afterwards.
//
// It owns the guest image (kernel, initramfs, read-only toolchain
// devices), the VMM interface and its QEMU implementation, the snapshots
// that warm starts restore, and the per-action devices: the input root as
// an ext4 image, the outputs as a tar on a raw device. It must not know
// how inputs are fetched or outputs uploaded: it runs a prepared input
// root, like every worker.Runner, and leaves the outputs in it.
package microvm
