package worker

import (
	"context"
	"errors"
	"io"
	"time"
)

// Runner runs one prepared command in a prepared directory. Implementations
// (a plain process today; a sandbox or a microVM later) differ in isolation,
// never in how inputs are laid out or outputs are collected.
type Runner interface {
	// Run runs cmd to completion, or until its timeout or ctx ends, in
	// which case everything it started is killed. A command that ran, even
	// one killed or failing, yields a Result; an error means it could not
	// be started (wrapping ErrCommandNotFound or ErrNotExecutable when the
	// fault is the command's) or, with a Result, that ctx ended first.
	Run(ctx context.Context, cmd *Command) (*Result, error)
}

// Command is what a Runner runs.
type Command struct {
	// Args is the argv; Args[0] resolves relative to WorkingDir when it
	// contains a slash, else through the PATH in Env (checklist item 36).
	Args []string
	// Env is the complete environment as "NAME=value"; nothing of the
	// worker's own environment leaks in.
	Env []string
	// RootDir is the absolute path of the prepared input root.
	RootDir string
	// WorkingDir is the absolute directory to run in, inside RootDir.
	WorkingDir string
	// Stdout and Stderr receive the command's output as it is produced.
	Stdout, Stderr io.Writer
	// Timeout bounds the run; zero means none.
	Timeout time.Duration
	// Platform is the action's platform (Action.platform, else
	// Command.platform), by property name. Runners read what concerns them
	// (isolation, limits, network) and ignore the rest.
	Platform Platform
}

// Result is what a run yields.
type Result struct {
	// ExitCode is the command's exit status; 128+n when signal n killed it.
	ExitCode int
	// TimedOut says the command ran past Command.Timeout and was killed.
	TimedOut bool
	// WallTime is the time from start to exit, on the clock that enforces
	// the timeout.
	WallTime time.Duration
	Usage    ResourceUsage
}

// ResourceUsage is the rusage of the command and its waited-for children.
type ResourceUsage struct {
	UserCPU, SystemCPU time.Duration
	MaxRSSBytes        int64
}

// ErrBadPlatform is wrapped by Run's error when the action's platform asks
// for something this runner cannot or will not give (an unknown isolation,
// network where it is forbidden, an invalid limit). The message says which.
var ErrBadPlatform = errors.New("platform not supported by this worker")

// ErrCommandNotFound is wrapped by Run's error when arguments[0] names no
// executable file.
var ErrCommandNotFound = errors.New("command not found")

// ErrNotExecutable is wrapped by Run's error when the kernel refuses to
// execute the file arguments[0] names (not executable, bad format, missing
// interpreter).
var ErrNotExecutable = errors.New("command cannot be executed")
