package main_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kilnbuild/kiln/internal/bazeltest"
	"github.com/kilnbuild/kiln/internal/kilntest"
	"github.com/kilnbuild/kiln/worker/microvm"
)

// microVMToolchain is what the guests of this test see of the host: enough
// for Bazel's test wrapper (bash, coreutils) and the genrules, and small
// enough to build quickly.
var microVMToolchain = []string{"/usr/bin", "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/bin", "/lib", "/lib64"}

// TestBazelMicroVM has a real Bazel build a genrule and run an sh_test
// whose actions all run in microVMs (isolation=microvm) of a `kiln up`
// worker: each records the kernel it ran under, which must be the guest's.
func TestBazelMicroVM(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with Bazel and QEMU; skipped in -short mode")
	}
	kernelDir := os.Getenv("KILN_MICROVM_KERNEL_DIR")
	if kernelDir == "" {
		kernelDir = microvm.DefaultKernelDir
	}
	_, qemuErr := exec.LookPath("qemu-system-x86_64")
	_, _, kernelErr := microvm.FindKernel(kernelDir)
	if err := errors.Join(qemuErr, kernelErr); err != nil {
		if os.Getenv("KILN_REQUIRE_MICROVM") == "1" {
			t.Fatalf("KILN_REQUIRE_MICROVM=1 but: %v (run scripts/microvm-deps.sh)", err)
		}
		t.Skipf("needs QEMU and a guest kernel (scripts/microvm-deps.sh): %v", err)
	}
	b := bazeltest.New(t)
	b.CopyWorkspace("microvm")

	dataDir := t.TempDir()
	agent := filepath.Join(t.TempDir(), "kiln-guest-agent")
	build := exec.Command("go", "build", "-trimpath", "-o", agent, "github.com/kilnbuild/kiln/cmd/kiln-guest-agent")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the guest agent: %v\n%s", err, out)
	}
	image := exec.Command(kilntest.Binary(t), "microvm", "image", "--data-dir="+dataDir, "--kernel-dir="+kernelDir,
		"--agent="+agent, "--toolchain="+strings.Join(microVMToolchain, ","))
	out, err := image.CombinedOutput()
	if err != nil {
		t.Fatalf("kiln microvm image: %v\n%s", err, out)
	}
	img, err := microvm.LoadImage(filepath.Join(dataDir, "worker", "microvm", "image"))
	if err != nil {
		t.Fatal(err)
	}

	kiln := kilntest.Start(t, kilntest.Options{DataDir: dataDir, Args: []string{"--workers=1"}})
	flags := slices.Clip(append(bazeltest.RemoteExecutionOnly(), kiln.RemoteExecutorFlag(),
		"--remote_default_exec_properties=isolation=microvm", "--test_output=all"))
	res := b.Test(append(flags, "//...")...)
	requireAllRemote(t, "test //...", res)
	requireTestStatus(t, res, "//vm:vm_test", bazeltest.TestStatus{Status: bazeltest.TestPassed})

	want := img.Manifest.KernelRelease + "\n"
	requireFile(t, b.BinPath("vm/kernel.txt"), func(data []byte) bool { return string(data) == want })
	requireFile(t, b.BinPath("vm/tree/a.txt"), func(data []byte) bool { return string(data) == want })
	requireFile(t, b.BinPath("vm/tree/sub/b.txt"), func(data []byte) bool { return string(data) == "b\n" })
	requireFile(t, b.BinPath("vm/link.txt"), func(data []byte) bool { return string(data) == want })
	requireFile(t, b.TestLogPath("vm/vm_test"), func(data []byte) bool {
		return strings.Contains(string(data), "test kernel "+img.Manifest.KernelRelease)
	})
}
