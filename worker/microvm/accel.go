package microvm

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kilnbuild/kiln/worker/microvm/guestproto"
)

// kernelHZ is CONFIG_HZ of Debian's kernels, for lpj=.
const kernelHZ = 250

// cmdline is the guest kernel's command line. The console goes to ttyS0
// (a log file), the agent talks on ttyS1. Under TCG the kernel cannot
// calibrate its clocks against emulated hardware and hangs at boot, so
// it is told the TSC frequency and the delay-loop constant.
func cmdline(accel string, tscKHz int, quiet bool) string {
	args := []string{"console=ttyS0", "reboot=t", "panic=-1", "pci=off", "nomodeset",
		// The guest runs one action of one owner and is thrown away:
		// mitigations between its processes buy nothing.
		"mitigations=off",
		"random.trust_cpu=on"}
	if quiet {
		args = append(args, "quiet")
	}
	if accel == AccelTCG {
		args = append(args, fmt.Sprintf("tsc_early_khz=%d", tscKHz), fmt.Sprintf("lpj=%d", tscKHz*1000/kernelHZ))
	}
	return strings.Join(args, " ")
}

// hostTSCKHz reads the TSC frequency: the kernel's own figure where it
// exports one, else the CPU clock of /proc/cpuinfo.
func hostTSCKHz() int {
	if b, err := os.ReadFile("/sys/devices/system/cpu/cpu0/tsc_freq_khz"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
			return n
		}
	}
	f, err := os.Open("/proc/cpuinfo")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if ok && strings.TrimSpace(k) == "cpu MHz" {
				if mhz, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && mhz > 0 {
					return int(mhz * 1000)
				}
			}
		}
	}
	return 2_000_000
}

// KVM ioctls (linux/kvm.h).
const (
	kvmGetAPIVersion = 0xAE00
	kvmCreateVM      = 0xAE01
	kvmAPIVersion    = 12
)

// kvmUsable checks that /dev/kvm opens and creates a VM. That is not
// enough: a nested or paravirtual KVM may create VMs and still not run a
// stock kernel, which probeKVM then finds out.
func kvmUsable() error {
	fd, err := unix.Open("/dev/kvm", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("/dev/kvm: %w", err)
	}
	defer unix.Close(fd)
	v, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), kvmGetAPIVersion, 0)
	if errno != 0 || v != kvmAPIVersion {
		return fmt.Errorf("/dev/kvm: API version %d (%v), want %d", v, errno, kvmAPIVersion)
	}
	vm, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), kvmCreateVM, 0)
	if errno != 0 {
		return fmt.Errorf("/dev/kvm: KVM_CREATE_VM: %w", errno)
	}
	unix.Close(int(vm))
	return nil
}

// probeKVM boots the image under KVM until its agent answers. A kernel
// that works prints to its console within milliseconds; one that prints
// nothing for silentLimit is stuck.
func probeKVM(ctx context.Context, q *QEMU, img *Image, dir string, silentLimit, limit time.Duration) error {
	if err := kvmUsable(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	spec := &MachineSpec{
		Kernel: img.path(img.Manifest.Kernel), Initramfs: img.path(img.Manifest.Initramfs),
		Cmdline: cmdline(AccelKVM, 0, false), CPUs: 1, MemoryMiB: 256, Dir: dir,
	}
	m, err := q.Start(ctx, spec, nil)
	if err != nil {
		return err
	}
	defer m.Kill()
	silent := time.AfterFunc(silentLimit, func() {
		if fi, err := os.Stat(filepath.Join(dir, "console.log")); err != nil || fi.Size() == 0 {
			m.Kill()
		}
	})
	defer silent.Stop()
	if err := (agentConn{m}).waitReady(ctx, guestproto.StageBooted); err != nil {
		if fi, serr := os.Stat(filepath.Join(dir, "console.log")); serr != nil || fi.Size() == 0 {
			return fmt.Errorf("the guest kernel printed nothing in %s under KVM", silentLimit)
		}
		return err
	}
	return nil
}
