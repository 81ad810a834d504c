package agent

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// mountEarly mounts what the agent itself needs from the kernel.
func mountEarly() error {
	for _, m := range []struct{ fstype, target string }{
		{"devtmpfs", "/dev"},
		{"proc", "/proc"},
		{"sysfs", "/sys"},
	} {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(m.fstype, m.target, m.fstype, 0, ""); err != nil && err != unix.EBUSY {
			return fmt.Errorf("mounting %s on %s: %w", m.fstype, m.target, err)
		}
	}
	return nil
}

// loadModules loads the kernel modules listed in list, in order. The list
// is absent when the kernel has everything built in.
func loadModules(list string) error {
	f, err := os.Open(list)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name := strings.TrimSpace(sc.Text())
		if name == "" {
			continue
		}
		if err := loadModule(filepath.Join(filepath.Dir(list), name)); err != nil {
			return err
		}
	}
	return sc.Err()
}

func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && err != unix.EEXIST {
		return fmt.Errorf("loading module %s: %w", path, err)
	}
	return nil
}

// openControlPort opens the serial port in raw mode: the frames are
// binary, and a line discipline would translate or echo bytes.
func openControlPort(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the control port %s: %w", path, err)
	}
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("reading the control port's settings: %w", err)
	}
	// cfmakeraw, plus no flow control: the host never sends XON/XOFF.
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CRTSCTS
	t.Cflag |= unix.CS8 | unix.CLOCAL | unix.CREAD
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("setting the control port raw: %w", err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// deviceBySerial finds the virtio block device whose serial is serial,
// waiting a little for it: modules probe devices asynchronously.
func deviceBySerial(serial string) (string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		matches, _ := filepath.Glob("/sys/block/vd*/serial")
		for _, m := range matches {
			b, err := os.ReadFile(m)
			if err == nil && strings.TrimSpace(string(b)) == serial {
				return "/dev/" + filepath.Base(filepath.Dir(m)), nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%w: no virtio block device has serial %q", errNoDevice, serial)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// flushDevice drops the guest's cached blocks of a device. A restored
// guest may cache blocks of the placeholder file its device had when it
// was snapshotted; the host has since put the action's file behind it.
func flushDevice(dev string) error {
	fd, err := unix.Open(dev, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.IoctlSetInt(fd, unix.BLKFLSBUF, 0); err != nil {
		return fmt.Errorf("flushing %s: %w", dev, err)
	}
	return nil
}
