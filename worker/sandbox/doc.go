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
// The command runs as "nobody" (65534) in a user namespace of its own, so
// it has no capability after exec, and with no_new_privs. On the host it
// is Options.UID (default 65534) when the worker is root: the input
// root's directories are given to it, while the input files, hardlinks of
// the worker's file cache owned by the worker with mode 0444, can be
// neither written nor chmod-ed. A worker that is not root cannot give away
// files: the init then runs in a user namespace mapping the worker's uid
// to root, and the command is the worker's uid on the host, owner of the
// cached files, which it could chmod; run a worker that serves untrusted
// clients as root.
//
// Limits: cgroups (package cgroup) bound memory, CPU and processes when
// the host lets the worker use them; the process count is bounded with
// RLIMIT_NPROC in the command's own user namespace in any case.
package sandbox
