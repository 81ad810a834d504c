package kilntest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long kiln may take to say it is ready; a
// race-instrumented binary opening a large data dir is the slow case.
const startTimeout = time.Minute

// stopTimeout bounds a graceful stop before the process is killed.
const stopTimeout = 20 * time.Second

// Process is one running kiln process, whatever its subcommand. Server and
// Worker build on it.
type Process struct {
	t testing.TB
	// DataDir is the data directory the process was started with.
	DataDir string

	cmd    *exec.Cmd
	args   []string
	output *syncBuffer // stdout and stderr, interleaved by line
	lines  *lineWatcher
	exited chan struct{}
	// waitErr is set before exited is closed.
	waitErr error
}

// startProcess runs bin with args in its own process group and waits until
// a line of its stdout or stderr matches ready (one of lines' patterns).
// The process is stopped when t ends; its output is logged if t failed,
// and a data race reported by a -race build fails t.
func startProcess(t testing.TB, bin string, args []string, dataDir string, lines *lineWatcher, ready ...string) *Process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	// Its own process group, so Kill takes any children (runners) along,
	// as a machine crash would.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &Process{t: t, DataDir: dataDir, cmd: cmd, args: args, output: &syncBuffer{}, lines: lines, exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting kiln: %v", err)
	}

	// Lines are captured as they come, not at exit, so that a hang still
	// shows them.
	var scanners sync.WaitGroup
	for _, r := range []io.Reader{stdout, stderr} {
		scanners.Go(func() { p.scan(r) })
	}
	go func() {
		scanners.Wait() // Wait must not close the pipes while they are read
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.cleanup)

	if _, err := p.lines.waitAny(startTimeout, p.exited, ready...); err != nil {
		t.Fatalf("kiln %s: %v\n%s", strings.Join(args, " "), err, p.Output())
	}
	return p
}

func (p *Process) scan(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.output.WriteLine(line)
		p.lines.see(line)
	}
	io.Copy(io.Discard, r) // a line too long for the scanner
}

// Output is everything the process printed so far.
func (p *Process) Output() string { return p.output.String() }

// Pid is the process id; the process leads its own process group.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool { return p.hasExited() }

// Stop asks the process to shut down (SIGTERM) and waits for it. It fails
// the test if kiln exits with an error or does not stop in time (it is
// killed then).
func (p *Process) Stop() {
	p.t.Helper()
	if p.hasExited() {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Errorf("signalling kiln: %v", err)
	}
	select {
	case <-p.exited:
		if p.waitErr != nil {
			p.t.Errorf("kiln %s exited with %v after SIGTERM\n%s", p.args[0], p.waitErr, p.Output())
		}
	case <-time.After(stopTimeout):
		p.t.Errorf("kiln %s did not stop within %v of SIGTERM; killing it\n%s", p.args[0], stopTimeout, p.Output())
		p.Kill()
	}
}

// Kill kills the process and its group with SIGKILL, the way a power cut
// or the OOM killer would, and waits until it is gone. Children that put
// themselves in a group of their own (a runner's actions) are not in it.
func (p *Process) Kill() {
	p.t.Helper()
	if p.hasExited() {
		return
	}
	// A negative pid signals the whole group; see Setpgid in startProcess.
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		p.t.Errorf("killing kiln: %v", err)
	}
	<-p.exited
}

func (p *Process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

func (p *Process) cleanup() {
	if !p.hasExited() {
		p.Stop()
	}
	out := p.Output()
	if strings.Contains(out, "WARNING: DATA RACE") {
		p.t.Errorf("the kiln %s process reported a data race:\n%s", p.args[0], out)
	} else if p.t.Failed() {
		p.t.Logf("output of kiln %s (data dir %s):\n%s", strings.Join(p.args, " "), p.DataDir, out)
	}
}

// syncBuffer collects the process output from two goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// WriteLine appends one line (the scanner dropped its newline).
func (b *syncBuffer) WriteLine(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fmt.Fprintln(&b.buf, line)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
