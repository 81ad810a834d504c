package microvm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kilnbuild/kiln/worker"
	"github.com/kilnbuild/kiln/worker/microvm/guestproto"
)

// Isolation is the value of the isolation platform property
// (worker.IsolationProperty) by which actions ask for a microVM.
const Isolation = "microvm"

// Serials of the per-action devices; the toolchain devices come first.
const (
	inputSerial  = "kiln-input"
	outputSerial = "kiln-output"
)

// Runner runs each command in a fresh microVM, destroyed afterwards. A
// guest is restored from a snapshot of a booted, set-up guest of the same
// shape, taken the first time that shape is asked for; only with
// Config.NoSnapshots does every guest boot cold.
type Runner struct {
	cfg    Config
	img    *Image
	log    *slog.Logger
	snaps  *snapshotStore
	runDir string

	accelDone chan struct{}
	vmm       VMM
	tscKHz    int

	lock *os.File
	// started, when set, learns how long each guest took to be ready for
	// its action (benchmarks).
	started   func(warm bool, took time.Duration)
	prewarm   sync.WaitGroup
	cancel    context.CancelFunc
	runDirSeq atomic.Int64
}

// NewRunner loads the guest image and prepares the state directory. It
// starts, in the background, choosing the accelerator and snapshotting a
// guest of the default shape, so that the first action finds them ready;
// Close stops that.
func NewRunner(cfg Config) (*Runner, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	img, err := LoadImage(cfg.ImageDir)
	if err != nil {
		return nil, err
	}
	lock, err := lockStateDir(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	runDir := filepath.Join(cfg.StateDir, "run")
	// What guests of a previous worker left (it may have been killed).
	if err := os.RemoveAll(runDir); err != nil {
		lock.Close()
		return nil, fmt.Errorf("microvm: cleaning %s: %w", runDir, err)
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		lock.Close()
		return nil, err
	}
	snaps, err := openSnapshotStore(filepath.Join(cfg.StateDir, "snapshots"), img.Manifest.Fingerprint)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("microvm: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{cfg: cfg, img: img, log: cfg.Logger, snaps: snaps, runDir: runDir, lock: lock,
		accelDone: make(chan struct{}), cancel: cancel, tscKHz: cfg.TSCKHz}
	if r.tscKHz <= 0 {
		r.tscKHz = hostTSCKHz()
	}
	r.prewarm.Add(1)
	go func() {
		defer r.prewarm.Done()
		r.chooseAccel(ctx)
		if cfg.NoSnapshots || ctx.Err() != nil {
			return
		}
		def := shape{CPUs: cfg.DefaultCPUs, MemoryMiB: cfg.DefaultMemoryMiB}
		if _, err := r.snapshot(ctx, def); err != nil && ctx.Err() == nil {
			r.log.Warn("microvm: no snapshot for warm starts; guests will boot cold until one is made", "shape", def, "err", err)
		}
	}()
	return r, nil
}

// Close stops the background preparation and releases the state
// directory; call it after the last Run returned.
func (r *Runner) Close() error {
	r.cancel()
	r.prewarm.Wait()
	return r.lock.Close()
}

// VMMName says which VMM and accelerator guests run on, once chosen.
func (r *Runner) VMMName(ctx context.Context) (string, error) {
	v, err := r.waitVMM(ctx)
	if err != nil {
		return "", err
	}
	return v.Name(), nil
}

// chooseAccel picks the accelerator once, logging which and why.
func (r *Runner) chooseAccel(ctx context.Context) {
	defer close(r.accelDone)
	q := &QEMU{Binary: r.cfg.QEMU, Accel: r.cfg.Accel}
	if r.cfg.Accel == AccelAuto {
		dir, err := r.newRunDir("kvm-probe")
		if err == nil {
			err = probeKVM(ctx, &QEMU{Binary: r.cfg.QEMU, Accel: AccelKVM}, r.img, dir, 5*time.Second, 60*time.Second)
			os.RemoveAll(dir)
		}
		if err == nil {
			q.Accel = AccelKVM
			r.log.Info("microvm: guests run under KVM: a guest booted under it")
		} else {
			q.Accel = AccelTCG
			r.log.Warn("microvm: guests run under TCG (emulation, slow): KVM cannot run the guest", "why", err)
		}
	} else {
		r.log.Info("microvm: guests run under the configured accelerator", "accel", q.Accel)
	}
	r.vmm = q
}

func (r *Runner) waitVMM(ctx context.Context) (VMM, error) {
	select {
	case <-r.accelDone:
		return r.vmm, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *Runner) accel() string {
	if q, ok := r.vmm.(*QEMU); ok {
		return q.Accel
	}
	return ""
}

// spec is the machine of shape s with the given input and output files.
func (r *Runner) spec(s shape, dir, input, output string) *MachineSpec {
	drives := append(r.img.toolchainDrives(),
		Drive{Serial: inputSerial, Path: input},
		Drive{Serial: outputSerial, Path: output})
	return &MachineSpec{
		Kernel:    r.img.path(r.img.Manifest.Kernel),
		Initramfs: r.img.path(r.img.Manifest.Initramfs),
		Cmdline:   cmdline(r.accel(), r.tscKHz, true),
		CPUs:      s.CPUs,
		MemoryMiB: s.MemoryMiB,
		Drives:    drives,
		Dir:       dir,
	}
}

// snapshotKey names what a snapshot depends on besides the image.
func (r *Runner) snapshotKey(s shape) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00", r.img.Manifest.Fingerprint, r.vmm.Name(), s, r.cfg.DiskBytes)
	fmt.Fprintf(h, "%s\x00", cmdline(r.accel(), r.tscKHz, true))
	for _, f := range append([]string{r.cfg.QEMU}, drivePaths(r.img.toolchainDrives())...) {
		if fi, err := os.Stat(f); err == nil {
			fmt.Fprintf(h, "%s\x00%d\x00%d\x00", f, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return s.String() + "-" + hex.EncodeToString(h.Sum(nil))[:16]
}

func drivePaths(ds []Drive) []string {
	var ps []string
	for _, d := range ds {
		ps = append(ps, d.Path)
	}
	return ps
}

// snapshot returns the snapshot for shape s, booting and saving a guest
// when there is none yet.
func (r *Runner) snapshot(ctx context.Context, s shape) (*Snapshot, error) {
	vmm, err := r.waitVMM(ctx)
	if err != nil {
		return nil, err
	}
	return r.snaps.get(ctx, r.snapshotKey(s), func(ctx context.Context, snapDir string) (*Snapshot, error) {
		start := time.Now()
		dir, err := r.newRunDir("snapshot")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		// The guest probes its action devices at boot; sparse files of
		// the final size stand in until a restored guest gets real ones.
		in, out := filepath.Join(dir, "input.placeholder"), filepath.Join(dir, "output.placeholder")
		for _, p := range []string{in, out} {
			if err := sparseFile(p, r.cfg.DiskBytes); err != nil {
				return nil, err
			}
		}
		spec := r.spec(s, dir, in, out)
		spec.Snapshottable = true
		m, err := r.bootCold(ctx, vmm, spec)
		if err != nil {
			return nil, err
		}
		defer m.Kill()
		snap, err := m.Snapshot(ctx, snapDir)
		if err != nil {
			return nil, err
		}
		r.log.Info("microvm: snapshot made", "shape", s, "vmm", vmm.Name(), "took", time.Since(start))
		return snap, nil
	})
}

// bootCold starts a guest from its kernel and brings it to StageSetUp.
func (r *Runner) bootCold(ctx context.Context, vmm VMM, spec *MachineSpec) (Machine, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.BootTimeout)
	defer cancel()
	m, err := vmm.Start(ctx, spec, nil)
	if err != nil {
		return nil, err
	}
	if err := (agentConn{m}).boot(ctx, r.img.setup()); err != nil {
		m.Kill()
		return nil, err
	}
	return m, nil
}

// Run implements worker.Runner.
func (r *Runner) Run(ctx context.Context, cmd *worker.Command) (*worker.Result, error) {
	s, err := r.cfg.shapeOf(cmd.Platform)
	if err != nil {
		return nil, err
	}
	if len(cmd.Args) == 0 {
		return nil, fmt.Errorf("%w: the command has no arguments", worker.ErrCommandNotFound)
	}
	vmm, err := r.waitVMM(ctx)
	if err != nil {
		return nil, err
	}
	var snap *Snapshot
	if !r.cfg.NoSnapshots {
		if snap, err = r.snapshot(ctx, s); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			r.log.Warn("microvm: booting cold", "shape", s, "err", err)
		}
	}

	dir, err := r.newRunDir("action")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	input, output := filepath.Join(dir, "input.ext4"), filepath.Join(dir, "output.tar")
	if err := makeExt4(ctx, cmd.RootDir, input, r.cfg.DiskBytes, false); err != nil {
		if strings.Contains(err.Error(), "Could not allocate") || strings.Contains(err.Error(), "No space") {
			return nil, fmt.Errorf("the input root does not fit the microVM's %d-byte disk: %w", r.cfg.DiskBytes, err)
		}
		return nil, fmt.Errorf("building the input disk: %w", err)
	}
	if err := sparseFile(output, r.cfg.DiskBytes); err != nil {
		return nil, err
	}

	start := time.Now()
	spec := r.spec(s, dir, input, output)
	var m Machine
	if snap != nil {
		if m, err = vmm.Start(ctx, spec, snap); err != nil && ctx.Err() == nil {
			// A snapshot that no longer restores must not fail actions
			// that a cold boot can run.
			r.log.Warn("microvm: restoring the snapshot failed; booting cold", "shape", s, "err", err)
			snap = nil
		}
	}
	if snap == nil {
		m, err = r.bootCold(ctx, vmm, spec)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	defer m.Kill()
	ready := time.Since(start)
	if r.started != nil {
		r.started(snap != nil, ready)
	}

	_, lostFoundErr := os.Lstat(filepath.Join(cmd.RootDir, "lost+found"))
	run := &guestproto.Run{
		Args: cmd.Args, Env: cmd.Env,
		RootDir: cmd.RootDir, WorkingDir: cmd.WorkingDir,
		InputSerial: inputSerial, OutputSerial: outputSerial,
		KeepLostFound: lostFoundErr == nil,
		UnixNano:      time.Now().UnixNano(),
	}
	var timedOut atomic.Bool
	runStart := time.Now()
	stop := context.AfterFunc(ctx, m.Kill)
	defer stop()
	if cmd.Timeout > 0 {
		t := time.AfterFunc(cmd.Timeout, func() {
			timedOut.Store(true)
			m.Kill()
		})
		defer t.Stop()
	}
	done, err := (agentConn{m}).run(run, writerOrDiscard(cmd.Stdout), writerOrDiscard(cmd.Stderr))
	wall := time.Since(runStart)
	m.Kill()
	r.log.Debug("microvm: action ran", "warm", snap != nil, "ready", ready, "wall", wall, "err", err)
	if err != nil {
		// The guest is gone; the action's outputs with it.
		killed := &worker.Result{ExitCode: 128 + 9, WallTime: wall}
		switch {
		case timedOut.Load():
			killed.TimedOut = true
			return killed, nil
		case ctx.Err() != nil:
			return killed, ctx.Err()
		}
		return nil, err
	}
	if err := failureError(done); err != nil {
		return nil, err
	}
	if err := r.collect(cmd.RootDir, output, done); err != nil {
		return nil, err
	}
	return &worker.Result{
		ExitCode: done.ExitCode,
		WallTime: wall,
		Usage: worker.ResourceUsage{
			UserCPU:     time.Duration(done.UserNano),
			SystemCPU:   time.Duration(done.SysNano),
			MaxRSSBytes: done.MaxRSS,
		},
	}, nil
}

// failureError is the error for an action that the agent could not run.
func failureError(d *guestproto.Done) error {
	switch d.Failure {
	case "":
		return nil
	case guestproto.FailureNotFound:
		return fmt.Errorf("%w: %s", worker.ErrCommandNotFound, d.Message)
	case guestproto.FailureNotExecutable:
		return fmt.Errorf("%w: %s", worker.ErrNotExecutable, d.Message)
	case guestproto.FailureOutputs:
		return fmt.Errorf("%w: collecting the outputs in the guest: %s", errGuest, d.Message)
	default:
		return fmt.Errorf("%w: %s", errGuest, d.Message)
	}
}

// collect applies the guest's outputs to the worker's input root, where
// the worker collects them as from any runner.
func (r *Runner) collect(root, output string, d *guestproto.Done) error {
	if d.OutputBytes < 0 || d.OutputBytes > r.cfg.DiskBytes {
		return fmt.Errorf("%w: output tar of %d bytes on a %d-byte device", errBadOutputs, d.OutputBytes, r.cfg.DiskBytes)
	}
	f, err := os.Open(output)
	if err != nil {
		return err
	}
	defer f.Close()
	return applyOutputs(root, io.LimitReader(f, d.OutputBytes), d.Removed)
}

// newRunDir makes a private directory for one guest's files.
func (r *Runner) newRunDir(what string) (string, error) {
	return os.MkdirTemp(r.runDir, fmt.Sprintf("%s-%d-", what, r.runDirSeq.Add(1)))
}

func sparseFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func writerOrDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

var _ worker.Runner = (*Runner)(nil)
