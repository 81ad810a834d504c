// Package nsinit is the init process of a sandbox: the program that runs as
// PID 1 inside an action's fresh namespaces, builds its file system, starts
// the action's command with no privileges, reaps every process and reports
// the command's exit to the runner.
//
// The sandbox runner (package sandbox) starts it by re-executing its own
// binary (/proc/self/exe) with argv[0] set to Arg0, in new mount, PID, IPC,
// UTS and (usually) network namespaces. On descriptor SpecFD it sends a
// Sandbox, which the init prepares before any action is known, then the
// Action. The init answers with Reports on descriptor ReportFD: ready,
// then started (or why the command could not start), then its exit.
//
// The package owns what happens inside the namespaces and nothing outside:
// it must not touch the host's file system except through the read-only
// and per-action mounts the Spec names.
package nsinit

import "os"

// The hook runs before main in every binary that links this package (kiln,
// its test binaries, anything embedding a worker), so each of them can be
// its own sandbox init without a hook to forget in main. It also runs
// before the heavy packages (gRPC, protobuf) initialize, which saves
// milliseconds per sandbox: Go initializes, among the packages whose
// imports are done, the first by import path, and this path sorts before
// go.*, golang.org/* and google.golang.org/*. That holds only while every
// import of this package is initialized early: the standard library
// packages the runtime's first users need, and x/sys. Keep it so (no
// path/filepath, which sorts late and nothing early needs).
func init() {
	if len(os.Args) > 0 && os.Args[0] == Arg0 {
		os.Exit(Main())
	}
}
