// Package cgroup owns the per-action Linux control groups of a worker: it
// creates one cgroup per action under a parent the worker owns, applies the
// action's memory, CPU and process-count limits, starts (or adds) the
// action's processes in it, reports peak memory, CPU time and whether the
// kernel's OOM killer struck, kills everything in it and removes it.
//
// Both cgroup layouts are supported: v2 (one unified hierarchy, production's
// usual case) and v1 (one hierarchy per controller). On a hybrid host (v1
// controllers plus a controller-less cgroup2 mount) the v1 hierarchies carry
// the limits, since that is where the controllers are.
//
// The package knows nothing of actions, runners or the REAPI: callers turn
// platform properties into Limits with LimitsFromPlatform and decide what a
// failure means. It must not touch cgroups outside the parent it is given.
//
// A typical use by a runner:
//
//	g, err := cgroup.New(parent, actionID, limits)
//	...
//	defer g.Destroy()
//	err = g.Start(cmd) // the command starts inside the cgroup
//	... cmd.Wait()
//	oom, _ := g.OOMKilled()
//	usage, _ := g.Usage()
//
// Every operation writes files under /sys/fs/cgroup and needs the right to
// do so: root, or a delegated subtree. With cgroup v2 the "no internal
// processes" rule applies: controllers can only be enabled for the children
// of a cgroup that holds no processes itself, so a worker that creates its
// action cgroups below its own cgroup must first be moved into a leaf of its
// own (e.g. <own>/agent), as container entrypoints commonly do.
package cgroup
