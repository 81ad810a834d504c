// Package gvisor owns the gVisor runner: a worker.Runner that runs each
// action inside gVisor (runsc), a user-space kernel that stands between
// the action and the host's, for clients whose code is trusted even less
// than the namespace sandbox allows.
//
// For every action it writes an OCI bundle: a read-only root holding only
// the host toolchain paths (Options.ReadOnlyPaths: /usr, /bin, /lib*,
// /etc by default), the action's input root read-write at its own absolute
// path, a private /tmp on disk and gVisor's own /proc and /dev. The
// worker's data directory, its file cache and other actions are not
// there. Networking is off (--network=none) unless the action asks
// `network=on` and the worker allows it, which then gives it the host's
// network through gVisor's host-network mode. The command runs as nobody
// (65534) inside, with no capabilities; the input root's directories are
// given to that uid so it can write its outputs, while input files stay
// the worker's and read-only.
//
// `runsc run` is started inside a cgroup of the action's own (package
// cgroup) when the worker can use cgroups, with --ignore-cgroups so that
// runsc leaves cgroups alone: the limits (memory, cpu, pids platform
// properties) then bound the whole sandbox, gVisor's own sentry and gofer
// included, and killing the cgroup kills everything the action started
// even if runsc misbehaves. A timeout or cancellation kills the cgroup (or,
// without one, asks `runsc kill`); `runsc delete --force` then forgets the
// container and the bundle is removed. The timeout and the reported wall
// time include gVisor's start (a few hundred milliseconds with ptrace).
//
// The package must not know how inputs are fetched or outputs collected:
// it only runs a prepared command in a prepared directory.
package gvisor
