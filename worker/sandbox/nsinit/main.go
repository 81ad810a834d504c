package nsinit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Main is the init: it returns the exit status of the process, which is
// the command's (128+n for signal n) once the command ran, 1 when it
// could not, and 0 for a sandbox that was never given an action.
// Everything else in the PID namespace dies when the process exits.
func Main() int {
	// Die with the worker. The runner cannot ask for this at clone time
	// (Go's Pdeathsig check misreads the parent of a new PID namespace's
	// first process as dead), so it is set here; a worker that died
	// before this line closed the spec pipe, and reading it fails below.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return 1
	}
	// Not ptrace-able, no core dump.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	// Signals from inside the namespace must not end the sandbox before
	// the command ends (SIGKILL from the runner still does). They are
	// caught and dropped (a full channel drops them), not ignored: an
	// ignored disposition would be inherited by the command through exec.
	signal.Notify(make(chan os.Signal, 1), caughtSignals...)

	specFile := os.NewFile(SpecFD, "spec")
	reportFile := os.NewFile(ReportFD, "report")
	if specFile == nil || reportFile == nil {
		return 1
	}
	// Neither may leak into the command.
	syscall.CloseOnExec(SpecFD)
	syscall.CloseOnExec(ReportFD)
	rep := reporter{reportFile}
	specs := json.NewDecoder(specFile)

	var sb Sandbox
	if err := specs.Decode(&sb); err != nil {
		rep.fail(KindSetup, fmt.Errorf("reading the sandbox spec: %w", err))
		return 1
	}
	if os.Getpid() != 1 {
		rep.fail(KindSetup, errors.New("the sandbox init is not the first process of a new PID namespace"))
		return 1
	}
	unix.Umask(0o022)
	if err := prepare(&sb); err != nil {
		rep.fail(KindSetup, err)
		return 1
	}
	rep.send(Report{Stage: StageReady})

	var act Action
	if err := specs.Decode(&act); errors.Is(err, io.EOF) {
		return 0 // a sandbox kept ready and not needed
	} else if err != nil {
		rep.fail(KindSetup, fmt.Errorf("reading the action spec: %w", err))
		return 1
	}
	specFile.Close()
	if err := enterRoot(&act); err != nil {
		rep.fail(KindSetup, err)
		return 1
	}
	if act.Probe {
		rep.send(Report{Stage: StageExited})
		return 0
	}
	pid, kind, err := startCommand(&act)
	if err != nil {
		rep.fail(kind, err)
		return 1
	}
	rep.send(Report{Stage: StageStarted})
	exit := reapUntil(pid)
	// Everything the command left behind dies now, before the report:
	// once the runner reads it, the action is over, and the output pipes
	// reach EOF as soon as our own ends close.
	killAll()
	os.Stdout.Close()
	os.Stderr.Close()
	rep.send(exit)
	return exit.ExitCode
}

// caughtSignals are the catchable signals that would otherwise stop init.
var caughtSignals = []os.Signal{
	unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1, unix.SIGUSR2,
	unix.SIGPIPE, unix.SIGALRM, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU, unix.SIGVTALRM,
	unix.SIGPROF, unix.SIGXCPU, unix.SIGXFSZ,
}

// prepare builds what every sandbox holds: file system, host name,
// loopback.
func prepare(sb *Sandbox) error {
	if err := prepareRoot(sb); err != nil {
		return err
	}
	if err := unix.Sethostname([]byte(sb.Hostname)); err != nil {
		return fmt.Errorf("setting the host name: %w", err)
	}
	if sb.Loopback {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	return nil
}

// killAll kills every other process of the PID namespace and reaps them.
func killAll() {
	_ = unix.Kill(-1, unix.SIGKILL)
	for {
		_, err := unix.Wait4(-1, nil, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil { // ECHILD: none left
			return
		}
	}
}

// reapUntil reaps every process that ends (orphans are re-parented to us)
// until pid does, and returns its exit.
func reapUntil(pid int) Report {
	for {
		var ws unix.WaitStatus
		var ru unix.Rusage
		got, err := unix.Wait4(-1, &ws, 0, &ru)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			// ECHILD: the command is gone without a trace; cannot
			// happen while it is our child.
			return Report{Stage: StageExited, ExitCode: 255, Error: fmt.Sprintf("waiting for the command: %v", err)}
		}
		if got != pid {
			continue
		}
		code := ws.ExitStatus()
		if ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		return Report{
			Stage:       StageExited,
			ExitCode:    code,
			UserCPU:     time.Duration(ru.Utime.Nano()),
			SystemCPU:   time.Duration(ru.Stime.Nano()),
			MaxRSSBytes: ru.Maxrss * 1024, // KiB on Linux
		}
	}
}
