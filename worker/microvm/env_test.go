package microvm

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests that boot guests need QEMU, the kernel package and a static
// busybox (scripts/microvm-deps.sh installs them). Without them they are
// skipped, unless KILN_REQUIRE_MICROVM=1 says they must run.

// testApplets are the busybox commands of the tests' toolchain.
var testApplets = []string{"sh", "cat", "echo", "ls", "sleep", "mkdir", "ln", "rm", "id", "find",
	"grep", "touch", "chmod", "readlink", "printf", "true", "false", "test", "env", "mv", "head", "wc", "dd", "yes", "stat"}

var shared struct {
	once      sync.Once
	dir       string // removed by TestMain
	img       *Image
	toolchain string // the busybox tree, mounted at this path in guests
	stateDir  string // snapshots shared by the tests' runners
	skip      string
	err       error
}

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperMain())
	}
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// testImage builds, once per test binary, a guest image whose toolchain
// is a static busybox.
func testImage(t testing.TB) *Image {
	t.Helper()
	shared.once.Do(func() {
		if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
			shared.skip = "qemu-system-x86_64 is not installed"
			return
		}
		kdir := os.Getenv("KILN_MICROVM_KERNEL_DIR")
		if kdir == "" {
			kdir = DefaultKernelDir
		}
		kernel, modules, err := FindKernel(kdir)
		if err != nil {
			shared.skip = err.Error()
			return
		}
		bb, err := exec.LookPath("busybox")
		if err != nil || checkStatic(bb) != nil {
			shared.skip = "no static busybox (busybox-static)"
			return
		}
		shared.err = buildTestImage(kernel, modules, bb)
	})
	if shared.skip != "" {
		if os.Getenv("KILN_REQUIRE_MICROVM") == "1" {
			t.Fatalf("KILN_REQUIRE_MICROVM=1 but %s (run scripts/microvm-deps.sh)", shared.skip)
		}
		t.Skipf("microVM tests need QEMU, a kernel and busybox: %s (run scripts/microvm-deps.sh)", shared.skip)
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.img
}

func buildTestImage(kernel, modules, busybox string) error {
	dir, err := os.MkdirTemp("", "kiln-microvm-test-")
	if err != nil {
		return err
	}
	shared.dir = dir
	agentBin := filepath.Join(dir, "kiln-guest-agent")
	build := exec.Command("go", "build", "-trimpath", "-o", agentBin, "github.com/kilnbuild/kiln/cmd/kiln-guest-agent")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building the guest agent: %v\n%s", err, out)
	}
	tc := filepath.Join(dir, "toolchain")
	if err := os.MkdirAll(filepath.Join(tc, "bin"), 0o755); err != nil {
		return err
	}
	if err := copyFile(busybox, filepath.Join(tc, "bin", "busybox")); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(tc, "bin", "busybox"), 0o755); err != nil {
		return err
	}
	for _, a := range testApplets {
		if err := os.Symlink("busybox", filepath.Join(tc, "bin", a)); err != nil {
			return err
		}
	}
	// Not world-readable: the image must leave it out.
	if err := os.WriteFile(filepath.Join(tc, "private-key"), []byte("secret"), 0o600); err != nil {
		return err
	}
	shared.toolchain = tc
	shared.stateDir = filepath.Join(dir, "state")
	shared.img, err = BuildImage(context.Background(), BuildOptions{
		Dir: filepath.Join(dir, "image"), Kernel: kernel, Modules: modules,
		Agent: agentBin, Toolchain: []string{tc},
	})
	return err
}

// testPath is the PATH of test actions: the busybox toolchain.
func testPath() string { return "PATH=" + filepath.Join(shared.toolchain, "bin") }

// testAccel is the accelerator of the tests: TCG unless
// KILN_MICROVM_ACCEL says otherwise (probing KVM costs seconds each time).
func testAccel() string {
	if a := os.Getenv("KILN_MICROVM_ACCEL"); a != "" {
		return a
	}
	return AccelTCG
}

// newTestRunner returns a Runner on the shared test image and snapshots.
func newTestRunner(t testing.TB, tweak func(*Config)) *Runner {
	t.Helper()
	img := testImage(t)
	cfg := Config{
		ImageDir: img.Dir, StateDir: shared.stateDir, Accel: testAccel(),
		DefaultMemoryMiB: 256, DiskBytes: 1 << 30,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if tweak != nil {
		tweak(&cfg)
	}
	r, err := NewRunner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Close()
		if procs := qemuProcesses(t, cfg.StateDir); len(procs) > 0 {
			t.Errorf("QEMU processes left behind: %v", procs)
		}
	})
	return r
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// qemuProcesses lists the QEMU processes whose command line mentions dir.
func qemuProcesses(t testing.TB, dir string) []string {
	t.Helper()
	var found []string
	// A killed QEMU is reaped asynchronously; give it a moment.
	for i := 0; i < 50; i++ {
		found = found[:0]
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err != nil {
				continue
			}
			if strings.Contains(string(b), "qemu-system") && strings.Contains(string(b), dir) {
				found = append(found, e.Name())
			}
		}
		if len(found) == 0 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
		runtime.Gosched()
	}
	return found
}
