package microvm

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kilnbuild/kiln/worker"
)

// helperEnv makes the test binary a worker that runs one long action and
// says so on stdout, for TestWorkerKilledLeavesNoQEMU to kill.
const helperEnv = "KILN_MICROVM_TEST_HELPER"

func helperMain() int {
	var h struct{ image, state, toolchain, root string }
	if _, err := fmt.Sscan(os.Getenv(helperEnv), &h.image, &h.state, &h.toolchain, &h.root); err != nil {
		fmt.Println("bad helper arguments:", err)
		return 2
	}
	r, err := NewRunner(Config{ImageDir: h.image, StateDir: h.state, Accel: testAccel(), DefaultMemoryMiB: 256, DiskBytes: 1 << 30})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	started := make(chan struct{}, 1)
	_, err = r.Run(context.Background(), &worker.Command{
		Args: []string{"sh", "-c", "echo started; sleep 600"}, Env: []string{"PATH=" + filepath.Join(h.toolchain, "bin")},
		RootDir: h.root, WorkingDir: h.root,
		Stdout: writerFunc(func(p []byte) (int, error) {
			select {
			case started <- struct{}{}:
				fmt.Println("RUNNING")
			default:
			}
			return len(p), nil
		}),
	})
	fmt.Println("Run returned:", err)
	return 1
}

func TestWorkerKilledLeavesNoQEMU(t *testing.T) {
	img := testImage(t)
	state := shared.stateDir
	root := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %s %s", helperEnv, img.Dir, state, shared.toolchain, root))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case l := <-lines:
		if l != "RUNNING" {
			t.Fatalf("helper said %q", l)
		}
	case <-time.After(5 * time.Minute):
		t.Fatal("the helper's action never started")
	}
	if procs := qemuProcesses(t, filepath.Join(state, "run")); len(procs) == 0 {
		t.Fatal("no QEMU process runs the helper's action")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if procs := qemuProcesses(t, filepath.Join(state, "run")); len(procs) > 0 {
		t.Errorf("QEMU processes outlived their worker: %v", procs)
	}
	// The next runner on the state directory removes what was left.
	newTestRunner(t, nil)
	if entries, _ := os.ReadDir(filepath.Join(state, "run")); len(entries) > 0 {
		names := []string{}
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("a new runner kept the dead worker's files: %s", strings.Join(names, ", "))
	}
}
