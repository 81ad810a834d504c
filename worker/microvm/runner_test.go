package microvm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kilnbuild/kiln/worker"
)

// action is a command for a test: sh -c script in a fresh input root.
type action struct {
	root   string
	cmd    *worker.Command
	stdout bytes.Buffer
	stderr bytes.Buffer
}

func newAction(t *testing.T, script string) *action {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	if err := os.MkdirAll(filepath.Join(root, "work"), 0o755); err != nil {
		t.Fatal(err)
	}
	a := &action{root: root}
	a.cmd = &worker.Command{
		Args:       []string{"sh", "-c", script},
		Env:        []string{testPath(), "HOME=/tmp"},
		RootDir:    root,
		WorkingDir: filepath.Join(root, "work"),
		Stdout:     &a.stdout,
		Stderr:     &a.stderr,
		Timeout:    time.Minute,
	}
	return a
}

func (a *action) write(t *testing.T, rel, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(a.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func (a *action) run(t *testing.T, r *Runner) *worker.Result {
	t.Helper()
	res, err := r.Run(context.Background(), a.cmd)
	if err != nil {
		t.Fatalf("Run: %v\nstdout: %s\nstderr: %s", err, a.stdout.String(), a.stderr.String())
	}
	return res
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunnerOutputsComeBackIntact(t *testing.T) {
	r := newTestRunner(t, nil)
	a := newAction(t, `
set -e
cat in.txt
echo to-stderr >&2
mkdir -p out/dir/sub
printf 'file content\n' > out/file.txt
printf 'deep\n' > out/dir/sub/deep.txt
chmod 0755 out/file.txt
ln -s file.txt out/link
ln -s ../nowhere out/dangling
ln -s dir out/dirlink
echo changed >> modified.txt
rm gone.txt
rm -r gonedir
exit 7
`)
	a.write(t, "work/in.txt", "input says hello\n", 0o644)
	// An input that is a hard link into the worker's file cache: the
	// action's change must replace it, not write through it.
	cache := filepath.Join(t.TempDir(), "cached")
	if err := os.WriteFile(cache, []byte("original\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(cache, filepath.Join(a.root, "work", "modified.txt")); err != nil {
		t.Fatal(err)
	}
	a.write(t, "work/gone.txt", "x", 0o644)
	a.write(t, "work/gonedir/inner.txt", "x", 0o644)

	res := a.run(t, r)
	if res.ExitCode != 7 || res.TimedOut {
		t.Errorf("result %+v, want exit code 7", res)
	}
	if got := a.stdout.String(); got != "input says hello\n" {
		t.Errorf("stdout %q", got)
	}
	if got := a.stderr.String(); got != "to-stderr\n" {
		t.Errorf("stderr %q", got)
	}
	work := filepath.Join(a.root, "work")
	if got := readFile(t, filepath.Join(work, "out/file.txt")); got != "file content\n" {
		t.Errorf("out/file.txt = %q", got)
	}
	if fi, err := os.Stat(filepath.Join(work, "out/file.txt")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("out/file.txt mode %v, %v; want 0755", fi.Mode(), err)
	}
	if got := readFile(t, filepath.Join(work, "out/dir/sub/deep.txt")); got != "deep\n" {
		t.Errorf("out/dir/sub/deep.txt = %q", got)
	}
	for link, want := range map[string]string{"out/link": "file.txt", "out/dangling": "../nowhere", "out/dirlink": "dir"} {
		if got, err := os.Readlink(filepath.Join(work, link)); err != nil || got != want {
			t.Errorf("%s -> %q (%v), want -> %q", link, got, err, want)
		}
	}
	if got := readFile(t, filepath.Join(work, "modified.txt")); got != "original\nchanged\n" {
		t.Errorf("modified.txt = %q", got)
	}
	if got := readFile(t, cache); got != "original\n" {
		t.Errorf("the cached file behind the input changed: %q", got)
	}
	for _, gone := range []string{"gone.txt", "gonedir"} {
		if _, err := os.Lstat(filepath.Join(work, gone)); !os.IsNotExist(err) {
			t.Errorf("%s still exists (%v); the action removed it", gone, err)
		}
	}
	if got := readFile(t, filepath.Join(work, "in.txt")); got != "input says hello\n" {
		t.Errorf("in.txt = %q", got)
	}
	if _, err := os.Lstat(filepath.Join(a.root, "lost+found")); !os.IsNotExist(err) {
		t.Errorf("lost+found appeared in the input root: %v", err)
	}
}

func TestRunnerGuestSeesOnlyToolchainAndInputRoot(t *testing.T) {
	r := newTestRunner(t, nil)
	// A file of the worker's outside the input root and the toolchain.
	secret := filepath.Join(t.TempDir(), "worker-secret")
	if err := os.WriteFile(secret, []byte("worker secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := newAction(t, `
cat `+secret+` 2>&1 || echo "no secret"
cat `+filepath.Join(shared.toolchain, "private-key")+` 2>&1 || echo "no private key"
echo "-- root --"
ls /
echo "-- network --"
cat /proc/net/dev
`)
	a.run(t, r)
	out := a.stdout.String()
	t.Logf("the guest saw:\n%s", out)
	if strings.Contains(out, "worker secret") || !strings.Contains(out, "no secret") {
		t.Errorf("the guest read a worker file outside its root:\n%s", out)
	}
	if !strings.Contains(out, "no private key") {
		t.Errorf("the guest read a toolchain file only its owner may read:\n%s", out)
	}
	_, rest, _ := strings.Cut(out, "-- root --\n")
	rootList, netDev, ok := strings.Cut(rest, "-- network --\n")
	if !ok {
		t.Fatalf("unexpected output:\n%s", out)
	}
	// The root has the kernel's filesystems, /tmp, and the parents of the
	// toolchain and the input root: nothing of the host's own.
	allowed := map[string]bool{"dev": true, "proc": true, "sys": true, "tmp": true}
	for _, p := range []string{shared.toolchain, a.root} {
		allowed[strings.Split(strings.TrimPrefix(p, "/"), "/")[0]] = true
	}
	names := strings.Fields(rootList)
	if len(names) == 0 {
		t.Error("ls / listed nothing")
	}
	for _, name := range names {
		if !allowed[name] {
			t.Errorf("the guest's / has %q; want only %v", name, allowed)
		}
	}
	// No network device but loopback.
	devs := 0
	for _, l := range strings.Split(netDev, "\n") {
		if dev, _, ok := strings.Cut(strings.TrimSpace(l), ":"); ok {
			devs++
			if dev != "lo" {
				t.Errorf("the guest has network device %q", dev)
			}
		}
	}
	if devs == 0 {
		t.Errorf("/proc/net/dev lists no device:\n%s", netDev)
	}
}

func TestRunnerTimeoutKillsTheGuest(t *testing.T) {
	r := newTestRunner(t, nil)
	a := newAction(t, "echo started; sleep 600")
	a.cmd.Timeout = 3 * time.Second
	res, err := r.Run(context.Background(), a.cmd)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !res.TimedOut {
		t.Errorf("result %+v, want TimedOut", res)
	}
	if !strings.Contains(a.stdout.String(), "started") {
		t.Errorf("output before the timeout was lost: %q", a.stdout.String())
	}
	if procs := qemuProcesses(t, shared.stateDir); len(procs) > 0 {
		t.Errorf("QEMU still runs after the timeout: %v", procs)
	}
	if entries, _ := os.ReadDir(filepath.Join(shared.stateDir, "run")); len(entries) > 0 {
		t.Errorf("files left behind in the run directory: %v", entries)
	}
}

func TestRunnerCancelKillsTheGuest(t *testing.T) {
	r := newTestRunner(t, nil)
	a := newAction(t, "echo started; sleep 600")
	ctx, cancel := context.WithCancel(context.Background())
	a.cmd.Stdout = writerFunc(func(p []byte) (int, error) {
		cancel()
		return len(p), nil
	})
	_, err := r.Run(ctx, a.cmd)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel: %v, want context.Canceled", err)
	}
	if procs := qemuProcesses(t, shared.stateDir); len(procs) > 0 {
		t.Errorf("QEMU still runs after the cancel: %v", procs)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestRunnerCommandErrors(t *testing.T) {
	r := newTestRunner(t, nil)
	a := newAction(t, "")
	a.cmd.Args = []string{"no-such-command"}
	if _, err := r.Run(context.Background(), a.cmd); !errors.Is(err, worker.ErrCommandNotFound) {
		t.Errorf("missing command: %v, want ErrCommandNotFound", err)
	}
	a = newAction(t, "")
	a.write(t, "work/not-exec", "#!/bin/sh\n", 0o644)
	a.cmd.Args = []string{"./not-exec"}
	if _, err := r.Run(context.Background(), a.cmd); !errors.Is(err, worker.ErrCommandNotFound) {
		t.Errorf("non-executable file: %v, want ErrCommandNotFound", err)
	}
	a = newAction(t, "")
	a.write(t, "work/bad-interp", "#!/no/such/interpreter\n", 0o755)
	a.cmd.Args = []string{"./bad-interp"}
	if _, err := r.Run(context.Background(), a.cmd); !errors.Is(err, worker.ErrNotExecutable) {
		t.Errorf("missing interpreter: %v, want ErrNotExecutable", err)
	}
	for _, p := range []worker.Platform{
		{CPUProperty: {"many"}},
		{CPUProperty: {"1000"}},
		{MemoryProperty: {"1TiB"}},
		{MemoryProperty: {"1MiB"}},
		{MemoryProperty: {"1G", "2G"}},
	} {
		a = newAction(t, "true")
		a.cmd.Platform = p
		if _, err := r.Run(context.Background(), a.cmd); !errors.Is(err, worker.ErrBadPlatform) {
			t.Errorf("platform %v: %v, want ErrBadPlatform", p, err)
		}
	}
}

func TestRunnerShapesAndColdBoot(t *testing.T) {
	r := newTestRunner(t, func(c *Config) { c.NoSnapshots = true })
	a := newAction(t, "grep -c ^processor /proc/cpuinfo; head -1 /proc/meminfo")
	a.cmd.Platform = worker.Platform{CPUProperty: {"2"}, MemoryProperty: {"384MiB"}}
	a.run(t, r)
	lines := strings.Fields(a.stdout.String())
	if len(lines) < 3 || lines[0] != "2" {
		t.Fatalf("guest shows %q, want 2 CPUs first", a.stdout.String())
	}
	// MemTotal is what the kernel has left of 384 MiB: less, not more.
	kib, err := strconv.Atoi(lines[2])
	if err != nil || kib > 384<<10 || kib < 256<<10 {
		t.Errorf("MemTotal %q kB, want a little under 384 MiB", lines[2])
	}
	if entries, _ := os.ReadDir(filepath.Join(shared.stateDir, "snapshots")); len(entries) > 0 {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "2cpu-384mib") {
				t.Errorf("NoSnapshots made a snapshot: %s", e.Name())
			}
		}
	}
}

func TestRunnerRunsGuestsSideBySide(t *testing.T) {
	r := newTestRunner(t, nil)
	var wg sync.WaitGroup
	actions := make([]*action, 2)
	for i := range actions {
		actions[i] = newAction(t, "echo guest-"+strconv.Itoa(i)+" > out.txt")
	}
	errs := make([]error, len(actions))
	for i, a := range actions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.Run(context.Background(), a.cmd)
		}()
	}
	wg.Wait()
	for i, a := range actions {
		if errs[i] != nil {
			t.Errorf("action %d: %v", i, errs[i])
			continue
		}
		if got := readFile(t, filepath.Join(a.root, "work", "out.txt")); got != "guest-"+strconv.Itoa(i)+"\n" {
			t.Errorf("action %d wrote %q", i, got)
		}
	}
}

func TestRunnerChoosesAnAcceleratorThatBoots(t *testing.T) {
	r := newTestRunner(t, func(c *Config) { c.Accel = AccelAuto })
	name, err := r.VMMName(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if name != "qemu-microvm/"+AccelKVM && name != "qemu-microvm/"+AccelTCG {
		t.Errorf("VMM %q", name)
	}
	if _, err := os.Stat("/dev/kvm"); err != nil && name != "qemu-microvm/"+AccelTCG {
		t.Errorf("without /dev/kvm the runner chose %s", name)
	}
	a := newAction(t, "echo ok")
	a.run(t, r)
	if a.stdout.String() != "ok\n" {
		t.Errorf("stdout %q under %s", a.stdout.String(), name)
	}
}
