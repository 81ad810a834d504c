package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/kilnbuild/kiln/worker/cgroup"
	"github.com/kilnbuild/kiln/worker/sandbox/nsinit"
)

// sandboxProc is a started init: a sandbox being prepared, or ready and
// waiting for its action. Each runs one action at most.
type sandboxProc struct {
	cmd *exec.Cmd
	// spec is where the Action goes; closing it unused makes the init
	// exit.
	spec *os.File
	// reportR and reports read the init's Reports.
	reportR *os.File
	reports *json.Decoder
	// stdout and stderr are the read ends of the command's output.
	stdout, stderr *os.File
	// group, when not nil, is a cgroup prepared for the action with the
	// default limits, which the init joined once ready.
	group *cgroup.Group

	readyOnce sync.Once
	readyErr  error
}

// startSandbox starts an init in new namespaces and asks it to prepare a
// sandbox; awaitReady says when it is done. The init builds it as root of
// the namespaces: a real root, or the root of a user namespace when the
// worker is not root.
func (r *Runner) startSandbox(network bool) (*sandboxProc, error) {
	var opened []*os.File
	pipe := func() (read, write *os.File, err error) {
		read, write, err = os.Pipe()
		if err == nil {
			opened = append(opened, read, write)
		}
		return read, write, err
	}
	closeAll := func(fs []*os.File) {
		for _, f := range fs {
			f.Close()
		}
	}
	specR, specW, err1 := pipe()
	reportR, reportW, err2 := pipe()
	stdoutR, stdoutW, err3 := pipe()
	stderrR, stderrW, err4 := pipe()
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		closeAll(opened)
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	c := &exec.Cmd{
		Path:        r.initPath,
		Args:        []string{nsinit.Arg0},
		Env:         []string{},
		Stdout:      stdoutW,
		Stderr:      stderrW,
		ExtraFiles:  []*os.File{specR, reportW},
		SysProcAttr: r.sysProcAttr(network),
	}
	// The init's parent-death signal is tied to the thread that forks it,
	// which must be one that lives on: the thread of a goroutine that
	// ends locked would end with it.
	runtime.LockOSThread()
	err := c.Start()
	runtime.UnlockOSThread()
	// The init holds its own copies of its ends.
	closeAll([]*os.File{specR, reportW, stdoutW, stderrW})
	if err != nil {
		closeAll([]*os.File{specW, reportR, stdoutR, stderrR})
		return nil, fmt.Errorf("sandbox: starting the init: %w", err)
	}
	p := &sandboxProc{cmd: c, spec: specW, reportR: reportR,
		reports: json.NewDecoder(reportR), stdout: stdoutR, stderr: stderrR}
	sb := nsinit.Sandbox{ReadOnlyPaths: r.opts.ReadOnlyPaths, Loopback: !network, Hostname: Hostname}
	if err := json.NewEncoder(specW).Encode(sb); err != nil {
		p.discard()
		return nil, fmt.Errorf("sandbox: the init died at start: %w", err)
	}
	return p, nil
}

// sysProcAttr puts the init in new namespaces.
func (r *Runner) sysProcAttr(network bool) *syscall.SysProcAttr {
	flags := uintptr(syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS)
	if !network {
		flags |= syscall.CLONE_NEWNET
	}
	// Its own process group: a Ctrl-C meant for the worker is the
	// worker's to handle.
	a := &syscall.SysProcAttr{Cloneflags: flags, Setpgid: true}
	if r.rootless {
		a.Cloneflags |= syscall.CLONE_NEWUSER
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	return a
}

// awaitReady waits until the sandbox is prepared.
func (p *sandboxProc) awaitReady() error {
	p.readyOnce.Do(func() {
		var rep nsinit.Report
		switch err := p.reports.Decode(&rep); {
		case err != nil:
			p.readyErr = fmt.Errorf("sandbox: the init ended while preparing the sandbox (%s)", p.exitState())
		case rep.Stage != nsinit.StageReady:
			p.readyErr = fmt.Errorf("sandbox: preparing the sandbox: %s", rep.Error)
		}
	})
	return p.readyErr
}

// alive reports whether the init has not exited, without reaping it.
func (p *sandboxProc) alive() bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, p.cmd.Process.Pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	// With WNOHANG, a child that has not exited leaves info zero.
	return err == nil && info.Signo == 0
}

// exitState says how the init ended, for messages; it waits for it.
func (p *sandboxProc) exitState() string {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Wait()
	}
	if p.cmd.ProcessState == nil {
		return "state unknown"
	}
	return p.cmd.ProcessState.String()
}

// discard ends an init that will run nothing, and releases its pipes and
// cgroup.
func (p *sandboxProc) discard() {
	p.spec.Close()
	_ = p.cmd.Process.Kill()
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Wait()
	}
	p.close()
	if p.group != nil {
		_ = p.group.Destroy()
		p.group = nil
	}
}

// close releases the runner's ends of the pipes.
func (p *sandboxProc) close() {
	p.spec.Close()
	p.reportR.Close()
	p.stdout.Close()
	p.stderr.Close()
}
