// Package sandbox owns the sandbox runner: a worker.Runner that contains
// hostile build actions with Linux namespaces, and the choices that go
// with it (what of the host an action sees, as whom it runs, its network
// and limits). What happens inside the namespaces is package nsinit's.
//
// Each action gets new mount, PID, IPC, UTS and network namespaces. Its
// init (nsinit, PID 1) builds a root holding only read-only host toolchain
// paths (/usr, /bin, /lib*, /etc by default), the action's input root
// read-write at its own absolute path, a private /tmp on disk beside the
// input root, a minimal /dev and a fresh /proc; the worker's data
// directory, the file cache and other actions are not there. The network
// is a loopback of its own unless the action asks `network=on` and the
// worker allows it. When the command exits, times out, is cancelled or the
// worker dies, the init dies and the kernel kills everything left in the
// PID namespace.
//
// The command never has a capability, nor a way to gain one (no_new_privs).
// When the worker is root, the init builds the sandbox as the real root of
// its namespaces, and the command runs as Options.UID (default 65534,
// nobody): the input root's directories are given to that user, while the
// input files, hardlinks of the worker's file cache owned by the worker
// with mode 0444, can be neither written nor chmod-ed. A worker that is
// not root cannot give files away: the init then builds the sandbox as
// root of a user namespace mapping the worker's uid, and the command runs
// as the worker's uid on the host, owner of the cached files, which it
// could chmod; run a worker that serves untrusted clients as root.
//
// Limits: with cgroups (package cgroup, when the host lets the worker use
// them) each action gets a cgroup bounding its memory, CPU and processes.
// Without, the command runs as "nobody" in a user namespace of its own, in
// which RLIMIT_NPROC counts its processes and threads alone; so it does,
// whatever the cgroups, when the worker is not root (as root of the init's
// user namespace it would otherwise keep its capabilities).
//
// Each sandbox costs a fresh init process (a re-execution of the worker's
// binary, see package nsinit) and new namespaces: the runner prepares
// Options.Ready of them ahead, so an action waits only for its own
// directories to be mounted and its command to start.
package sandbox
