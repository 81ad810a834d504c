package worker

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func writeScript(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func runIn(t *testing.T, ctx context.Context, dir string, timeout time.Duration, env []string, args ...string) (*Result, string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	res, err := NewProcessRunner().Run(ctx, &Command{
		Args: args, Env: env, RootDir: dir, WorkingDir: dir,
		Stdout: &stdout, Stderr: &stderr, Timeout: timeout,
	})
	return res, stdout.String(), stderr.String(), err
}

var shEnv = []string{"PATH=/usr/bin:/bin"}

func TestProcessRunnerExitCodesAndOutput(t *testing.T) {
	dir := t.TempDir()
	for _, code := range []int{0, 1, 3, 255} {
		res, stdout, stderr, err := runIn(t, context.Background(), dir, 0, shEnv,
			"sh", "-c", "echo out; echo err >&2; exit "+strconv.Itoa(code))
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != code || res.TimedOut {
			t.Errorf("exit %d: got code %d, timed out %v", code, res.ExitCode, res.TimedOut)
		}
		if stdout != "out\n" || stderr != "err\n" {
			t.Errorf("exit %d: stdout %q stderr %q", code, stdout, stderr)
		}
	}
}

func TestProcessRunnerSignalExitCode(t *testing.T) {
	res, _, _, err := runIn(t, context.Background(), t.TempDir(), 0, shEnv, "sh", "-c", "kill -TERM $$")
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 128+int(syscall.SIGTERM) {
		t.Errorf("exit code %d, want %d", res.ExitCode, 128+int(syscall.SIGTERM))
	}
}

func TestProcessRunnerEnvironmentIsExactlyTheActions(t *testing.T) {
	t.Setenv("KILN_WORKER_SECRET", "leak")
	_, stdout, _, err := runIn(t, context.Background(), t.TempDir(), 0,
		[]string{"A=1", "PATH=/usr/bin:/bin"}, "env")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout, "KILN_WORKER_SECRET") || !strings.Contains(stdout, "A=1\n") {
		t.Errorf("env output %q", stdout)
	}
}

func TestItem36_ProcessRunnerResolvesArgv0(t *testing.T) {
	root := t.TempDir()
	work := filepath.Join(root, "pkg")
	writeScript(t, filepath.Join(work, "tools", "rel"), "echo rel")
	writeScript(t, filepath.Join(root, "bin", "onpath"), "echo onpath")
	writeScript(t, filepath.Join(work, "relbin", "relpath"), "echo relpath")

	cases := []struct {
		name string
		env  []string
		arg0 string
		want string
	}{
		{"slash is relative to the working directory", nil, "tools/rel", "rel\n"},
		{"dot slash", nil, "./tools/rel", "rel\n"},
		{"absolute", nil, filepath.Join(work, "tools", "rel"), "rel\n"},
		{"action PATH", []string{"PATH=" + filepath.Join(root, "bin")}, "onpath", "onpath\n"},
		{"relative PATH entry", []string{"PATH=relbin:/bin"}, "relpath", "relpath\n"},
	}
	for _, c := range cases {
		var stdout bytes.Buffer
		res, err := NewProcessRunner().Run(context.Background(), &Command{
			Args: []string{c.arg0}, Env: c.env, RootDir: root, WorkingDir: work, Stdout: &stdout,
		})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if res.ExitCode != 0 || stdout.String() != c.want {
			t.Errorf("%s: exit %d, stdout %q", c.name, res.ExitCode, stdout.String())
		}
	}

	// The action's PATH is honoured, not the worker's.
	t.Setenv("PATH", filepath.Join(root, "bin"))
	_, err := NewProcessRunner().Run(context.Background(), &Command{
		Args: []string{"onpath"}, Env: []string{"PATH=/nonexistent"}, RootDir: root, WorkingDir: work,
	})
	if !errors.Is(err, ErrCommandNotFound) {
		t.Errorf("onpath with the action's PATH elsewhere: err %v, want ErrCommandNotFound", err)
	}
	// A name with a slash never goes through PATH.
	_, err = NewProcessRunner().Run(context.Background(), &Command{
		Args: []string{"bin/onpath"}, Env: []string{"PATH=" + root}, RootDir: root, WorkingDir: work,
	})
	if !errors.Is(err, ErrCommandNotFound) {
		t.Errorf("bin/onpath relative to the working dir: err %v, want ErrCommandNotFound", err)
	}
}

func TestProcessRunnerRefusesNonExecutables(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "data"), []byte("not a program"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "garbage"), []byte("\x00\x01\x02garbage"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := runIn(t, context.Background(), dir, 0, shEnv, "./data"); !errors.Is(err, ErrCommandNotFound) {
		t.Errorf("non-executable file: %v", err)
	}
	if _, _, _, err := runIn(t, context.Background(), dir, 0, shEnv, "./garbage"); !errors.Is(err, ErrNotExecutable) {
		t.Errorf("bad executable format: %v", err)
	}
	if _, _, _, err := runIn(t, context.Background(), dir, 0, shEnv, "no-such-tool"); !errors.Is(err, ErrCommandNotFound) {
		t.Errorf("unknown command: %v", err)
	}
}

// processGone reports whether pid no longer runs (gone or a zombie waiting
// for a reaper that may not exist in a container).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
}

// waitGone waits (boundedly, for a slow machine) until pid is gone.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for range 500 {
		if processGone(pid) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	t.Fatalf("process %d survived the action", pid)
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file %q: %v", b, err)
	}
	return pid
}

func TestProcessRunnerTimeoutKillsTheWholeGroup(t *testing.T) {
	dir := t.TempDir()
	res, stdout, _, err := runIn(t, context.Background(), dir, 300*time.Millisecond, shEnv,
		"sh", "-c", "sleep 1000 & echo $! > grandchild.pid; echo started; wait")
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut {
		t.Errorf("TimedOut = false, want true")
	}
	if res.ExitCode != 128+int(syscall.SIGKILL) {
		t.Errorf("exit code %d, want %d", res.ExitCode, 128+int(syscall.SIGKILL))
	}
	if stdout != "started\n" {
		t.Errorf("partial stdout %q, want %q", stdout, "started\n")
	}
	waitGone(t, readPid(t, filepath.Join(dir, "grandchild.pid")))
}

func TestProcessRunnerKillsBackgroundProcessesAfterExit(t *testing.T) {
	dir := t.TempDir()
	// The background sleep keeps stdout open: without the group kill, Run
	// would wait for it.
	res, _, _, err := runIn(t, context.Background(), dir, 0, shEnv,
		"sh", "-c", "sleep 1000 & echo $! > bg.pid; exit 0")
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 || res.TimedOut {
		t.Errorf("exit %d, timed out %v", res.ExitCode, res.TimedOut)
	}
	waitGone(t, readPid(t, filepath.Join(dir, "bg.pid")))
}

func TestProcessRunnerContextCancelKills(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var res *Result
	var err error
	go func() {
		defer close(done)
		res, _, _, err = runIn(t, ctx, dir, 0, shEnv, "sh", "-c", "echo $$ > sh.pid; sleep 1000 & wait")
	}()
	pidFile := filepath.Join(dir, "sh.pid")
	for range 1000 {
		if b, _ := os.ReadFile(pidFile); len(b) > 0 && b[len(b)-1] == '\n' {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	if res == nil || res.TimedOut {
		t.Errorf("result %+v, want a non-timed-out result", res)
	}
	waitGone(t, readPid(t, pidFile))
}

func TestProcessRunnerReportsResourceUsage(t *testing.T) {
	res, _, _, err := runIn(t, context.Background(), t.TempDir(), 0, shEnv, "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done")
	if err != nil {
		t.Fatal(err)
	}
	if res.Usage.MaxRSSBytes <= 0 {
		t.Errorf("MaxRSSBytes = %d, want > 0", res.Usage.MaxRSSBytes)
	}
	if res.Usage.UserCPU+res.Usage.SystemCPU <= 0 {
		t.Errorf("no CPU time reported: %+v", res.Usage)
	}
	if res.WallTime <= 0 {
		t.Errorf("WallTime = %v", res.WallTime)
	}
}

func TestProcessRunnerHandsFilesToTheChildDirectly(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "out.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = NewProcessRunner().Run(context.Background(), &Command{
		Args: []string{"sh", "-c", "echo to-file"}, Env: shEnv, RootDir: dir, WorkingDir: dir, Stdout: f,
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(f.Name()); string(b) != "to-file\n" {
		t.Errorf("file holds %q", b)
	}
}
