package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kilnbuild/kiln/worker"
)

func TestRunsACommandInTheInputRoot(t *testing.T) {
	inEachMode(t, Options{}, testRunsACommandInTheInputRoot)
}

func testRunsACommandInTheInputRoot(t *testing.T, r *Runner) {
	a := newAction(t)
	a.Write(t, "in.txt", "hello sandbox\n", 0o444)
	o := a.shell(t, r, "cat in.txt; pwd; echo err >&2; hostname; id -u; id -g; exit 3", nil)
	if o.err != nil {
		t.Fatal(o.err)
	}
	want := "hello sandbox\n" + a.Root + "\n" + "sandbox\n65534\n65534\n"
	if o.stdout != want || o.stderr != "err\n" || o.res.ExitCode != 3 {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 3, stdout %q, stderr \"err\\n\"", o.res.ExitCode, o.stdout, o.stderr, want)
	}
}

func TestWorkingDirectoryAndRelativeCommand(t *testing.T) {
	r := newTestRunner(t, Options{})
	a := newAction(t)
	a.Write(t, "pkg/tool.sh", "#!/bin/sh\necho tool in $(pwd)\n", 0o555)
	o := a.run(t, context.Background(), r, &worker.Command{Args: []string{"./tool.sh"}, WorkingDir: a.Root + "/pkg"})
	if got := o.ok(t); got != "tool in "+a.Root+"/pkg" {
		t.Errorf("stdout %q", got)
	}
}

func TestCommandsThatCannotStart(t *testing.T) {
	r := newTestRunner(t, Options{})
	a := newAction(t)
	a.Write(t, "data.txt", "not a program", 0o444)
	a.Write(t, "garbage", "\x00\x01\x02", 0o555)
	hostBin := t.TempDir()
	if err := os.WriteFile(filepath.Join(hostBin, "host-tool"), []byte("#!/bin/sh\necho host\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		env  []string
		want error
	}{
		{[]string{"no-such-tool"}, nil, worker.ErrCommandNotFound},
		{[]string{"./data.txt"}, nil, worker.ErrCommandNotFound}, // not executable: not a candidate
		{[]string{"./garbage"}, nil, worker.ErrNotExecutable},
		// PATH is resolved in the sandbox: a host directory outside it
		// finds nothing, even where the host has the tool.
		{[]string{"host-tool"}, []string{"PATH=" + hostBin}, worker.ErrCommandNotFound},
	} {
		o := a.run(t, context.Background(), r, &worker.Command{Args: tc.args, Env: tc.env})
		if !errors.Is(o.err, tc.want) || o.res != nil {
			t.Errorf("%v: result %+v, error %v; want %v", tc.args, o.res, o.err, tc.want)
		}
	}
	if o := a.run(t, context.Background(), r, &worker.Command{Args: nil}); !errors.Is(o.err, worker.ErrCommandNotFound) {
		t.Errorf("no arguments: %v", o.err)
	}
	// The runner goes on serving.
	a.shell(t, r, "true", nil).ok(t)
}

func TestPlatformTheSandboxRefuses(t *testing.T) {
	r := newTestRunner(t, Options{})
	a := newAction(t)
	for _, tc := range []struct {
		platform worker.Platform
		want     string
	}{
		{worker.Platform{"network": {"on"}}, "network=on: this worker does not give actions network access"},
		{worker.Platform{"network": {"sometimes"}}, `network="sometimes": the value must be on or off`},
		{worker.Platform{"network": {"off", "on"}}, "network is given 2 times"},
		{worker.Platform{"pids": {"lots"}}, "pids=lots"},
		{worker.Platform{"memory": {"1GiB"}}, "memory=1GiB: this worker cannot enforce this limit on actions"},
	} {
		o := a.shell(t, r, "true", tc.platform)
		if !errors.Is(o.err, worker.ErrBadPlatform) || !strings.Contains(o.err.Error(), tc.want) {
			t.Errorf("platform %v: %v; want ErrBadPlatform saying %q", tc.platform, o.err, tc.want)
		}
	}
	a.shell(t, r, "true", worker.Platform{"network": {"off"}, "pids": {"100"}, "OSFamily": {"linux"}}).ok(t)
}

func TestOptionsAreChecked(t *testing.T) {
	for _, opts := range []Options{
		{ReadOnlyPaths: []string{"usr"}},
		{ReadOnlyPaths: []string{"/"}},
		{ReadOnlyPaths: []string{"/tmp"}},
		{ReadOnlyPaths: []string{"/proc/sys"}},
		{UID: -1},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("New(%+v) accepted", opts)
		}
	}
}

func TestInputRootWhereTheSandboxCannotMountItIsRefused(t *testing.T) {
	r := newTestRunner(t, Options{})
	o := outcome{}
	o.res, o.err = r.Run(context.Background(), &worker.Command{
		Args: []string{"true"}, RootDir: "/usr/share/kiln-root", WorkingDir: "/usr/share/kiln-root",
	})
	if o.err == nil || !strings.Contains(o.err.Error(), "overlaps /usr") {
		t.Errorf("input root under /usr: %v", o.err)
	}
}

func TestTimeoutKillsEverything(t *testing.T) {
	r := newTestRunner(t, Options{})
	a := newAction(t)
	sleep, token := uniqueSleep(t)
	o := a.run(t, context.Background(), r, &worker.Command{
		Args:    []string{"sh", "-c", "echo before; " + sleep + " & " + sleep + "; echo after"},
		Timeout: 300 * time.Millisecond,
	})
	if o.err != nil || !o.res.TimedOut || o.res.ExitCode != 128+9 {
		t.Fatalf("result %+v, error %v; want timed out, killed", o.res, o.err)
	}
	if o.stdout != "before\n" {
		t.Errorf("stdout %q: the output before the timeout is kept, nothing after", o.stdout)
	}
	if pids := hostProcessesWith(t, token); len(pids) > 0 {
		t.Errorf("processes left after the timeout: %v", pids)
	}
}

func TestBackgroundProcessesDieWithTheCommand(t *testing.T) {
	r := newTestRunner(t, Options{})
	a := newAction(t)
	sleep, token := uniqueSleep(t)
	// setsid and nohup: nothing leaves a PID namespace.
	o := a.shell(t, r, sleep+" & setsid "+sleep+" & nohup "+sleep+" >/dev/null 2>&1 & echo started", nil)
	if got := o.ok(t); got != "started" {
		t.Errorf("stdout %q", got)
	}
	if pids := hostProcessesWith(t, token); len(pids) > 0 {
		t.Errorf("processes outlived the action: %v", pids)
	}
}

func TestCancelKillsEverything(t *testing.T) {
	r := newTestRunner(t, Options{})
	a := newAction(t)
	sleep, token := uniqueSleep(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout syncBuffer
	done := make(chan outcome, 1)
	go func() {
		res, err := r.Run(ctx, &worker.Command{Args: []string{"sh", "-c", "echo up; " + sleep + " & " + sleep},
			RootDir: a.Root, WorkingDir: a.Root, Env: []string{"PATH=/usr/bin:/bin"}, Stdout: &stdout})
		done <- outcome{res: res, err: err}
	}()
	for !strings.Contains(stdout.String(), "up") {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	o := <-done
	if !errors.Is(o.err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", o.err)
	}
	if pids := hostProcessesWith(t, token); len(pids) > 0 {
		t.Errorf("processes outlived the cancelled action: %v", pids)
	}
}

func TestPlatformOffered(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{}, "pids=*"},
		{Options{AllowNetwork: true}, "pids=*,network=on"},
	} {
		if got := newTestRunner(t, tc.opts).Platform().String(); got != tc.want {
			t.Errorf("%+v: offers %s, want %s", tc.opts, got, tc.want)
		}
	}
	r := newCgroupRunner(t, Options{})
	if got := r.Platform().String(); got != "pids=*,memory=*,cpu=*" {
		t.Errorf("with cgroups: offers %s", got)
	}
}
