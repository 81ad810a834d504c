package nsinit

import (
	"encoding/json"
	"os"
	"time"
)

// Arg0 is the argv[0] under which a binary runs as a sandbox init.
const Arg0 = "kiln-sandbox-init"

// Descriptors the runner hands the init (exec.Cmd.ExtraFiles order).
const (
	// SpecFD carries a JSON Sandbox, then a JSON Action, then EOF.
	SpecFD = 3
	// ReportFD carries JSON Reports, one per line, from the init.
	ReportFD = 4
)

// SandboxID is the user and group id the command has inside its user
// namespace: "nobody", whatever host id it maps to.
const SandboxID = 65534

// Sandbox is the first message: what every action's sandbox holds. The
// init prepares it, reports StageReady and waits for the Action, so that
// a runner can keep sandboxes ready before actions come. EOF instead of
// an Action makes the init exit 0.
type Sandbox struct {
	// ReadOnlyPaths are host paths mounted read-only at the same place
	// (sorted, absolute); those missing on the host are skipped, symbolic
	// links are copied as links.
	ReadOnlyPaths []string
	// Loopback brings up lo: the init is in a network namespace of its own.
	Loopback bool
	// Hostname is set in the UTS namespace.
	Hostname string
}

// Action is the second message: the action to run in the sandbox.
type Action struct {
	// Args, Env and Dir are the command's argv, complete environment and
	// absolute working directory (a path inside RootDir).
	Args []string
	Env  []string
	Dir  string
	// FallbackPath resolves Args[0] when Env sets no PATH.
	FallbackPath string
	// RootDir is the action's input root, mounted read-write at the same
	// absolute path.
	RootDir string
	// TmpDir is a host directory, private to the action, mounted at /tmp.
	TmpDir string
	// UserNamespace runs the command in a user namespace of its own,
	// as SandboxID mapped to CommandUID and CommandGID; it then has no
	// capability after exec, whatever the init is, and a process count
	// of its own. Without it the command simply gets CommandUID and
	// CommandGID, which drops every capability only if they are not 0:
	// the init must be the host's root.
	UserNamespace bool
	// CommandUID and CommandGID are the command's ids in the init's own
	// user namespace.
	CommandUID, CommandGID int
	// ClearGroups drops the supplementary groups of the command. It needs
	// the right to call setgroups (the worker is root).
	ClearGroups bool
	// MaxProcesses bounds the command's processes and threads with
	// RLIMIT_NPROC, which counts per user: only meaningful with
	// UserNamespace. 0 is no bound.
	MaxProcesses int64
	// Probe finishes the sandbox and exits 0 without running anything:
	// the runner's check that sandboxes work on this host.
	Probe bool
}

// Report is one message from the init.
type Report struct {
	// Stage is one of the Stage constants.
	Stage string `json:"stage"`
	// Kind classifies a failure (Kind* constants); Error describes it.
	Kind  string `json:"kind,omitempty"`
	Error string `json:"error,omitempty"`
	// ExitCode is the command's exit status, 128+n if signal n killed it.
	ExitCode int `json:"exit_code,omitempty"`
	// Resource use of the command and the children it waited for.
	UserCPU     time.Duration `json:"user_cpu,omitempty"`
	SystemCPU   time.Duration `json:"system_cpu,omitempty"`
	MaxRSSBytes int64         `json:"max_rss_bytes,omitempty"`
}

// Report stages, in order: ready, then started or failed, then exited.
const (
	StageReady   = "ready"
	StageStarted = "started"
	StageFailed  = "failed"
	StageExited  = "exited"
)

// Failure kinds: the command's fault, or the sandbox's.
const (
	KindNotFound      = "not_found"
	KindNotExecutable = "not_executable"
	KindSetup         = "setup"
)

// reporter writes Reports to the runner. Each is one write below PIPE_BUF,
// hence atomic.
type reporter struct{ f *os.File }

func (r reporter) send(rep Report) {
	b, err := json.Marshal(rep)
	if err != nil {
		return
	}
	// Nobody to tell if the runner is gone: it would have killed us.
	_, _ = r.f.Write(append(b, '\n'))
}

func (r reporter) fail(kind string, err error) {
	r.send(Report{Stage: StageFailed, Kind: kind, Error: err.Error()})
}
