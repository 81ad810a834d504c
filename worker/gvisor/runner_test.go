package gvisor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kilnbuild/kiln/worker"
	"github.com/kilnbuild/kiln/worker/cgroup"
)

func TestRunsCommandAndOutputComesBack(t *testing.T) {
	r := newTestRunner(t, Options{})
	a := newAction(t)
	a.Write(t, "src/in.txt", "input data\n", 0o444)
	var stdout, stderr syncBuffer
	res, err := r.Run(context.Background(), &worker.Command{
		Args:       []string{"sh", "-c", `cat in.txt; echo to-stderr >&2; mkdir -p ../out; echo made > ../out/o.txt; exit 3`},
		Env:        []string{"PATH=/usr/bin:/bin"},
		RootDir:    a.Root,
		WorkingDir: filepath.Join(a.Root, "src"),
		Stdout:     &stdout,
		Stderr:     &stderr,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || res.TimedOut {
		t.Errorf("exit %d, timed out %v; want 3, false (stderr %q)", res.ExitCode, res.TimedOut, stderr.String())
	}
	if stdout.String() != "input data\n" || stderr.String() != "to-stderr\n" {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	got, err := os.ReadFile(filepath.Join(a.Root, "out", "o.txt"))
	if err != nil || string(got) != "made\n" {
		t.Errorf("output file: %q, %v", got, err)
	}
}

func TestCannotSeeHostFilesOutsideToolchain(t *testing.T) {
	r := newTestRunner(t, Options{})
	a := newAction(t)
	secret := filepath.Join(a.Dir, "secret.txt") // beside the input root
	if err := os.WriteFile(secret, []byte("top secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	script := `cat ` + secret + ` ` + r.opts.StateDir + `/* 2>/dev/null; ls ` + filepath.Dir(a.Dir) + ` 2>/dev/null;` +
		`echo x > /usr/kiln-written 2>/dev/null && echo wrote-usr; ` +
		`cat /etc/hostname >/dev/null && echo toolchain-ok`
	res, err := r.Run(context.Background(), &worker.Command{
		Args: []string{"/bin/sh", "-c", script}, RootDir: a.Root, WorkingDir: a.Root, Stdout: &stdout, Stderr: &stderr,
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout.String(), "top secret") || strings.Contains(stdout.String(), "secret.txt") {
		t.Errorf("the action read a host file outside the toolchain: %q", stdout.String())
	}
	if strings.Contains(stdout.String(), "wrote-usr") {
		t.Errorf("the action wrote to the read-only toolchain")
	}
	if _, err := os.Stat("/usr/kiln-written"); err == nil {
		os.Remove("/usr/kiln-written")
		t.Errorf("the action wrote to the host's /usr")
	}
	if !strings.Contains(stdout.String(), "toolchain-ok") {
		t.Errorf("the toolchain is not readable: stdout %q, stderr %q (exit %d)", stdout.String(), stderr.String(), res.ExitCode)
	}
}

func TestInputFilesStayTheWorkers(t *testing.T) {
	r := newTestRunner(t, Options{})
	a := newAction(t)
	in := a.Write(t, "in.txt", "cached\n", 0o444)
	var stdout syncBuffer
	_, err := r.Run(context.Background(), &worker.Command{
		Args:    []string{"/bin/sh", "-c", `id -u; echo changed > in.txt; chmod 666 in.txt; echo changed > in.txt; cat in.txt`},
		RootDir: a.Root, WorkingDir: a.Root, Stdout: &stdout,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(in); string(got) != "cached\n" {
		t.Errorf("the action changed an input file: %q", got)
	}
	if fi, _ := os.Stat(in); fi.Mode().Perm() != 0o444 {
		t.Errorf("the action changed an input file's mode to %v", fi.Mode())
	}
	if first, _, _ := strings.Cut(stdout.String(), "\n"); first != "65534" {
		t.Errorf("the action ran as uid %q, want 65534", first)
	}
}

func TestTimeoutKillsEverything(t *testing.T) {
	r := newTestRunner(t, Options{})
	a := newAction(t)
	var stdout syncBuffer
	res, err := r.Run(context.Background(), &worker.Command{
		Args:    []string{"/bin/sh", "-c", `sleep 100 & (trap "" TERM HUP; sleep 100) & echo started; wait`},
		RootDir: a.Root, WorkingDir: a.Root, Stdout: &stdout, Timeout: 3 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut {
		t.Errorf("TimedOut false, exit %d", res.ExitCode)
	}
	assertNothingLeft(t, r)
}

func TestCancelKillsEverything(t *testing.T) {
	r := newTestRunner(t, Options{})
	a := newAction(t)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	out := writerFunc(func(p []byte) (int, error) {
		if strings.Contains(string(p), "started") {
			close(started)
		}
		return len(p), nil
	})
	go func() { <-started; cancel() }()
	res, err := r.Run(ctx, &worker.Command{
		Args:    []string{"/bin/sh", "-c", `sleep 100 & echo started; wait`},
		RootDir: a.Root, WorkingDir: a.Root, Stdout: out,
	})
	if err == nil || res == nil || res.TimedOut {
		t.Errorf("got %+v, %v; want a result and the context's error", res, err)
	}
	assertNothingLeft(t, r)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// assertNothingLeft checks that no process, container, bundle or cgroup
// of r's outlived the run.
func assertNothingLeft(t *testing.T, r *Runner) {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), "kiln-"+r.id) {
			t.Errorf("process %s still runs: %q", filepath.Dir(p), strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	if ids, err := r.runsc.list(context.Background()); err != nil || len(ids) > 0 {
		t.Errorf("runsc still knows containers %v (%v)", ids, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(r.opts.StateDir, "bundles")); len(entries) > 0 {
		t.Errorf("bundles left: %v", entries)
	}
	if r.cgroups {
		matches, _ := filepath.Glob("/sys/fs/cgroup/*/" + r.cgroupParent() + "/*")
		more, _ := filepath.Glob("/sys/fs/cgroup/memory/*/*/" + r.cgroupParent() + "/*")
		for _, m := range append(matches, more...) {
			if fi, err := os.Stat(m); err == nil && fi.IsDir() {
				t.Errorf("cgroup left: %s", m)
			}
		}
	}
}

func TestExitBySignal(t *testing.T) {
	r := newTestRunner(t, Options{})
	a := newAction(t)
	res, err := r.Run(context.Background(), &worker.Command{
		Args: []string{"/bin/sh", "-c", `kill -9 $$`}, RootDir: a.Root, WorkingDir: a.Root,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 128+9 {
		t.Errorf("exit %d, want 137", res.ExitCode)
	}
}

func TestMemoryLimitIsReportedAsExceeded(t *testing.T) {
	r := newTestRunner(t, Options{})
	if !r.cgroups {
		t.Skip("no cgroups here: limits are refused, not enforced")
	}
	a := newAction(t)
	// tail keeps a line in memory until it ends: 512 MiB of zeros has no
	// newline.
	res, err := r.Run(context.Background(), &worker.Command{
		Args:    []string{"/bin/sh", "-c", `head -c 536870912 /dev/zero | tail -n 1 >/dev/null; echo survived`},
		RootDir: a.Root, WorkingDir: a.Root,
		Platform: worker.Platform{"memory": {"128MiB"}},
	})
	if !errors.Is(err, worker.ErrLimitExceeded) || res == nil {
		t.Fatalf("got %+v, %v; want a result and ErrLimitExceeded", res, err)
	}
	if !strings.Contains(err.Error(), "128MiB") {
		t.Errorf("the error %q does not name the limit", err)
	}
	assertNothingLeft(t, r)
}

func TestRefusesWhatItCannotGive(t *testing.T) {
	r := newTestRunner(t, Options{MaxLimits: cgroup.Limits{MemoryBytes: 1 << 30}})
	a := newAction(t)
	for _, p := range []worker.Platform{
		{"network": {"on"}},
		{"network": {"maybe"}},
		{"memory": {"2GiB"}},
		{"pids": {"many"}},
	} {
		_, err := r.Run(context.Background(), &worker.Command{Args: []string{"/bin/true"}, RootDir: a.Root, WorkingDir: a.Root, Platform: p})
		if !errors.Is(err, worker.ErrBadPlatform) {
			t.Errorf("platform %v: got %v, want ErrBadPlatform", p, err)
		}
	}
}

func TestCommandNotFound(t *testing.T) {
	r := newTestRunner(t, Options{})
	a := newAction(t)
	outside := filepath.Join(a.Dir, "tool")
	if err := os.WriteFile(outside, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"no-such-command"}, {"./missing"}, {outside}} {
		_, err := r.Run(context.Background(), &worker.Command{Args: args, Env: []string{"PATH=/usr/bin"}, RootDir: a.Root, WorkingDir: a.Root})
		if !errors.Is(err, worker.ErrCommandNotFound) {
			t.Errorf("%v: got %v, want ErrCommandNotFound", args, err)
		}
	}
}

func TestNetworkIsOffByDefault(t *testing.T) {
	r := newTestRunner(t, Options{})
	a := newAction(t)
	var stdout syncBuffer
	_, err := r.Run(context.Background(), &worker.Command{
		Args:    []string{"/bin/sh", "-c", `cat /proc/net/dev`},
		RootDir: a.Root, WorkingDir: a.Root, Stdout: &stdout,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		name, _, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && name != "lo" && !strings.Contains(name, "|") {
			t.Errorf("interface %q is visible with network off", name)
		}
	}
}

func TestForkBombIsContained(t *testing.T) {
	r := newTestRunner(t, Options{})
	if !r.cgroups {
		t.Skip("no cgroups here: limits are refused, not enforced")
	}
	a := newAction(t)
	res, err := r.Run(context.Background(), &worker.Command{
		Args:    []string{"/bin/sh", "-c", `b(){ b | b & }; b; sleep 100`},
		RootDir: a.Root, WorkingDir: a.Root, Timeout: 10 * time.Second,
		Platform: worker.Platform{"pids": {"64"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Without the limit the bomb would grow until the timeout.
	if res.TimedOut || res.ExitCode == 0 {
		t.Errorf("fork bomb: exit %d, timed out %v; want it stopped by the pids limit", res.ExitCode, res.TimedOut)
	}
	assertNothingLeft(t, r)
}
