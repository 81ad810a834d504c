package microvm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Accelerators QEMU can run guests with.
const (
	AccelKVM = "kvm"
	AccelTCG = "tcg"
)

// QEMU runs guests with qemu-system-x86_64's microvm machine: no PCI, no
// firmware tables to speak of, virtio-mmio devices, a legacy serial port.
type QEMU struct {
	// Binary is the qemu-system-x86_64 to run.
	Binary string
	// Accel is AccelKVM or AccelTCG.
	Accel string
}

// Name implements VMM.
func (q *QEMU) Name() string { return "qemu-microvm/" + q.Accel }

// Start implements VMM.
func (q *QEMU) Start(ctx context.Context, spec *MachineSpec, snap *Snapshot) (Machine, error) {
	ctl, err := socketPair()
	if err != nil {
		return nil, err
	}
	mon, err := socketPair()
	if err != nil {
		closeAll(ctl[:]...)
		return nil, err
	}
	// QEMU's ends become its fds 3 and 4, the snapshot's state 5.
	extra := []*os.File{ctl[1], mon[1]}
	if snap != nil {
		state, err := os.Open(snap.StateFile)
		if err != nil {
			closeAll(ctl[0], ctl[1], mon[0], mon[1])
			return nil, fmt.Errorf("opening the snapshot: %w", err)
		}
		extra = append(extra, state)
	}
	m := &qemuMachine{
		control: ctl[0],
		console: filepath.Join(spec.Dir, "console.log"),
		exited:  make(chan struct{}),
		dir:     spec.Dir,
	}
	cmd := exec.Command(q.Binary, q.args(spec, snap, m.console)...)
	cmd.ExtraFiles = extra
	cmd.Stdout = &m.stderr
	cmd.Stderr = &m.stderr
	cmd.Env = []string{}
	// Pdeathsig: a worker that dies, even by SIGKILL, takes its guests
	// with it. The signal is tied to the forking thread, hence the lock.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	runtime.LockOSThread()
	err = cmd.Start()
	runtime.UnlockOSThread()
	closeAll(extra...)
	if err != nil {
		closeAll(ctl[0], mon[0])
		return nil, fmt.Errorf("starting %s: %w", q.Binary, err)
	}
	m.cmd = cmd
	go func() {
		_ = cmd.Wait()
		close(m.exited)
	}()
	stop := context.AfterFunc(ctx, m.Kill)
	defer stop()
	if m.qmp, err = newQMP(mon[0]); err != nil {
		m.Kill()
		return nil, err
	}
	if err := m.qmp.handshake(); err != nil {
		m.Kill()
		return nil, fmt.Errorf("%w (QEMU said: %s)", err, m.stderrTail())
	}
	// Guest memory in a file is the snapshot: migration moves only the
	// device state.
	if err := m.qmp.do("migrate-set-capabilities", map[string]any{
		"capabilities": []map[string]any{{"capability": "x-ignore-shared", "state": true}},
	}, nil); err != nil {
		m.Kill()
		return nil, err
	}
	if snap != nil {
		if err := m.restore(ctx); err != nil {
			m.Kill()
			return nil, fmt.Errorf("restoring the snapshot: %w (QEMU said: %s)", err, m.stderrTail())
		}
	}
	if err := ctx.Err(); err != nil {
		m.Kill()
		return nil, err
	}
	return m, nil
}

// args is QEMU's command line for spec: nothing but what the guest needs,
// and no network at all.
func (q *QEMU) args(spec *MachineSpec, snap *Snapshot, console string) []string {
	cpu := "max"
	if q.Accel == AccelKVM {
		cpu = "host"
	}
	mem := strconv.Itoa(spec.MemoryMiB) + "M"
	backend := "memory-backend-ram,id=ram,size=" + mem
	switch {
	case snap != nil:
		// share=off maps the snapshot's memory privately: the guest's
		// writes stay in this process, so the file serves every restore.
		backend = "memory-backend-file,id=ram,size=" + mem + ",share=off,mem-path=" + qemuEscape(snap.MemoryFile)
	case spec.Snapshottable:
		backend = "memory-backend-file,id=ram,size=" + mem + ",share=on,mem-path=" + qemuEscape(filepath.Join(spec.Dir, "memory"))
	}
	args := []string{
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-machine", "microvm,accel=" + q.Accel + ",memory-backend=ram,pic=off,pit=off,rtc=off",
		"-cpu", cpu,
		"-smp", strconv.Itoa(spec.CPUs),
		"-m", mem,
		"-object", backend,
		"-kernel", spec.Kernel,
		"-initrd", spec.Initramfs,
		"-append", spec.Cmdline,
		"-nic", "none",
		"-chardev", "file,id=console,path=" + qemuEscape(console),
		"-serial", "chardev:console",
		"-chardev", "socket,id=control,fd=3",
		"-device", "isa-serial,chardev=control,iobase=0x2f8,irq=3",
		"-chardev", "socket,id=monitor,fd=4",
		"-mon", "chardev=monitor,mode=control",
	}
	for i, d := range spec.Drives {
		ro := "off"
		if d.ReadOnly {
			ro = "on"
		}
		id := "drive" + strconv.Itoa(i)
		args = append(args,
			"-drive", "if=none,id="+id+",format=raw,aio=threads,werror=report,rerror=report,readonly="+ro+",file="+qemuEscape(d.Path),
			"-device", "virtio-blk-device,drive="+id+",serial="+d.Serial)
	}
	if snap != nil {
		// Deferred, so that x-ignore-shared can be set first.
		args = append(args, "-incoming", "defer")
	}
	return args
}

// qemuEscape doubles commas, QEMU's escape inside option values.
func qemuEscape(s string) string { return strings.ReplaceAll(s, ",", ",,") }

type qemuMachine struct {
	cmd     *exec.Cmd
	control *os.File
	qmp     *qmp
	console string
	dir     string
	exited  chan struct{}
	stderr  lockedBuffer
	kill    sync.Once
}

func (m *qemuMachine) Control() io.ReadWriter  { return m.control }
func (m *qemuMachine) Exited() <-chan struct{} { return m.exited }

func (m *qemuMachine) Kill() {
	m.kill.Do(func() {
		if m.cmd != nil {
			_ = m.cmd.Process.Kill()
			<-m.exited
		}
		m.control.Close()
		if m.qmp != nil {
			m.qmp.Close()
		}
	})
}

// Snapshot implements Machine: it migrates the device state into a file
// (guest memory is already in one, which x-ignore-shared leaves out), then
// stops QEMU and moves the memory file next to the state.
func (m *qemuMachine) Snapshot(ctx context.Context, dir string) (*Snapshot, error) {
	defer m.Kill()
	snap := &Snapshot{MemoryFile: filepath.Join(dir, "memory"), StateFile: filepath.Join(dir, "state")}
	state, err := os.OpenFile(snap.StateFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer state.Close()
	if err := m.qmp.doWithFile("getfd", map[string]string{"fdname": "snapshot"}, nil, state); err != nil {
		return nil, err
	}
	if err := m.qmp.do("migrate", map[string]string{"uri": "fd:snapshot"}, nil); err != nil {
		return nil, err
	}
	err = m.waitMigration(ctx, func(st qmpMigration) (bool, error) {
		switch st.Status {
		case "completed":
			return true, nil
		case "failed", "cancelled":
			return false, fmt.Errorf("saving the guest failed: %s", st.ErrorDesc)
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	m.Kill()
	if err := os.Rename(filepath.Join(m.dir, "memory"), snap.MemoryFile); err != nil {
		return nil, fmt.Errorf("keeping the snapshot's memory: %w", err)
	}
	return snap, nil
}

// restore loads the state from fd 5 and waits until the guest runs again.
func (m *qemuMachine) restore(ctx context.Context) error {
	if err := m.qmp.do("migrate-incoming", map[string]string{"uri": "fd:5"}, nil); err != nil {
		return err
	}
	return m.waitMigration(ctx, func(st qmpMigration) (bool, error) {
		var s struct {
			Status string `json:"status"`
		}
		if err := m.qmp.do("query-status", nil, &s); err != nil {
			return false, err
		}
		if s.Status == "running" {
			return true, nil
		}
		if st.Status == "failed" {
			return false, fmt.Errorf("loading the guest failed: %s", st.ErrorDesc)
		}
		return false, nil
	})
}

type qmpMigration struct {
	Status    string `json:"status"`
	ErrorDesc string `json:"error-desc"`
}

// waitMigration polls query-migrate until done says the wait is over.
func (m *qemuMachine) waitMigration(ctx context.Context, done func(qmpMigration) (bool, error)) error {
	for {
		var st qmpMigration
		if err := m.qmp.do("query-migrate", nil, &st); err != nil {
			return err
		}
		ok, err := done(st)
		if ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-m.exited:
			return errors.New("QEMU exited")
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func (m *qemuMachine) ConsoleTail() string {
	b, _ := os.ReadFile(m.console)
	s := tail(string(b), 2000)
	if e := m.stderrTail(); e != "" {
		s += "\n[qemu] " + e
	}
	return s
}

func (m *qemuMachine) stderrTail() string { return tail(m.stderr.String(), 1000) }

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

func socketPair() ([2]*os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return [2]*os.File{}, fmt.Errorf("socketpair: %w", err)
	}
	return [2]*os.File{os.NewFile(uintptr(fds[0]), "host"), os.NewFile(uintptr(fds[1]), "qemu")}, nil
}

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// lockedBuffer collects QEMU's own messages for error reports.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
