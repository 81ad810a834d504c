// Package agent is the guest side of the microVM runner: the program that
// is the guest kernel's /init (built by cmd/kiln-guest-agent, statically).
//
// It mounts what the guest needs, loads the few virtio modules, then obeys
// the host's frames on the control serial port (see guestproto): prepare
// the action's root from read-only toolchain devices, wait (the host may
// snapshot the guest here), run exactly one action on its input device,
// stream its stdout and stderr, and write what it created or changed as a
// tar to the output device. It trusts the host; the host trusts nothing
// it says.
package agent
