package gvisor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kilnbuild/kiln/internal/argv0"
	"github.com/kilnbuild/kiln/worker/isolationpolicy"

	"github.com/kilnbuild/kiln/worker"
	"github.com/kilnbuild/kiln/worker/cgroup"
)

// Runner is a worker.Runner that runs each command in a gVisor sandbox of
// its own (see the package doc).
type Runner struct {
	opts  Options
	runsc runsc
	// cgroups: each action runs in a cgroup of its own.
	cgroups bool
	// id tells this runner's containers and cgroups from others'.
	id  string
	seq atomic.Int64
	// fallbackPath resolves commands of actions that set no PATH, as
	// the process runner does with the worker's.
	fallbackPath string
	// killGrace is how long a killed sandbox may take to go before the
	// runner stops waiting for its output.
	killGrace time.Duration
}

// probeTimeout bounds New's check that runsc works here.
const probeTimeout = 60 * time.Second

// New returns a Runner, after checking that runsc is installed and runs
// /bin/true in a sandbox here; an error says why not. It also removes
// what a previous runner on the same StateDir and cgroup parent left
// behind (after a crash).
func New(opts Options) (*Runner, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	path := opts.Runsc
	if path == "" {
		path = "runsc"
	}
	path, err = exec.LookPath(path)
	if err != nil {
		return nil, fmt.Errorf("gvisor: runsc is not installed: %w", err)
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("gvisor: runsc needs the worker to run as root")
	}
	stateDir := filepath.Join(opts.StateDir, "runsc")
	for _, d := range []string{stateDir, filepath.Join(opts.StateDir, "bundles")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("gvisor: %w", err)
		}
	}
	id := make([]byte, 4)
	_, _ = rand.Read(id)
	r := &Runner{
		opts: opts,
		runsc: runsc{path: path, global: append([]string{
			"--root=" + stateDir,
			"--platform=" + opts.Platform,
		}, opts.ExtraFlags...)},
		id:           hex.EncodeToString(id),
		fallbackPath: os.Getenv("PATH"),
		killGrace:    5 * time.Second,
	}
	if opts.CgroupParent != "" {
		if mode, err := cgroup.Available(); err != nil {
			opts.Logger.Warn("gvisor: cgroups cannot be used; actions asking for limits are refused",
				"cgroup_mode", mode.String(), "err", err)
		} else {
			r.cgroups = true
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	r.sweep(ctx)
	if err := r.probe(ctx); err != nil {
		return nil, fmt.Errorf("gvisor: runsc (%s, --platform=%s) does not work here: %w", path, opts.Platform, err)
	}
	return r, nil
}

// sweep removes the containers, bundles and cgroups of earlier runners.
func (r *Runner) sweep(ctx context.Context) {
	ids, err := r.runsc.list(ctx)
	if err != nil {
		r.opts.Logger.Warn("gvisor: listing leftover containers", "err", err)
	}
	for _, id := range ids {
		if err := r.runsc.delete(ctx, id); err != nil {
			r.opts.Logger.Warn("gvisor: deleting a leftover container", "container", id, "err", err)
		}
	}
	if r.cgroups {
		if err := cgroup.Sweep(r.cgroupParent()); err != nil {
			r.opts.Logger.Warn("gvisor: removing leftover cgroups", "err", err)
		}
	}
	bundles := filepath.Join(r.opts.StateDir, "bundles")
	entries, _ := os.ReadDir(bundles)
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(bundles, e.Name())); err != nil {
			r.opts.Logger.Warn("gvisor: removing a leftover bundle", "err", err)
		}
	}
}

// probe runs /bin/true in a sandbox built like an action's, and where the
// host has them, checks with ls that stat works: old runsc releases (such
// as Debian bookworm's, 2022) reject the statx flags of newer C libraries
// and coreutils, which breaks many tools without breaking /bin/true.
func (r *Runner) probe(ctx context.Context) error {
	dir, err := os.MkdirTemp(filepath.Join(r.opts.StateDir, "bundles"), "probe-input-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	args := []string{"/bin/true"}
	if hasFile("/bin/sh") && hasFile("/bin/ls") {
		args = []string{"/bin/sh", "-c", "ls -d / >/dev/null 2>&1 || echo " + statxBroken}
	}
	var stdout, stderr tailBuffer
	res, err := r.Run(ctx, &worker.Command{Args: args, RootDir: dir, WorkingDir: dir, Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("%s exited with status %d: %s", strings.Join(args, " "), res.ExitCode, strings.TrimSpace(stderr.String()))
	}
	if strings.Contains(stdout.String(), statxBroken) {
		r.opts.Logger.Warn("gvisor: this runsc fails stat calls of newer tools (ls, stat: \"Invalid argument\"); actions using them will fail. Install a newer gVisor release.",
			"runsc", r.runsc.path)
	}
	return nil
}

// statxBroken is what the probe prints when ls cannot stat in gVisor.
const statxBroken = "kiln-probe-statx-broken"

// Run implements worker.Runner.
func (r *Runner) Run(ctx context.Context, cmd *worker.Command) (*worker.Result, error) {
	if len(cmd.Args) == 0 {
		return nil, fmt.Errorf("%w: the command has no arguments", worker.ErrCommandNotFound)
	}
	req, err := r.requestOf(cmd.Platform)
	if err != nil {
		return nil, err
	}
	if err := r.checkRootDir(cmd.RootDir, cmd.WorkingDir); err != nil {
		return nil, err
	}
	exe, err := resolveExecutable(cmd.Args[0], cmd.WorkingDir, cmd.Env, r.fallbackPath, r.visible(cmd.RootDir))
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := isolationpolicy.GiveDirs(cmd.RootDir, r.opts.UID, r.opts.GID); err != nil {
		return nil, fmt.Errorf("gvisor: giving the input root to the action's user: %w", err)
	}
	id := fmt.Sprintf("kiln-%s-%d", r.id, r.seq.Add(1))
	dir := filepath.Join(r.opts.StateDir, "bundles", id)
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			r.opts.Logger.Warn("gvisor: removing a bundle", "dir", dir, "err", err)
		}
	}()
	env := cmd.Env
	if _, ok := argv0.LookupEnv(env, "PATH"); !ok {
		// The command was found through the worker's PATH; its
		// children should find theirs the same way.
		env = append(append([]string{}, env...), "PATH="+r.fallbackPath)
	}
	b, err := writeBundle(dir, bundleSpec{
		args:          append([]string{exe}, cmd.Args[1:]...),
		env:           env,
		cwd:           cmd.WorkingDir,
		rootDir:       cmd.RootDir,
		readOnlyPaths: r.opts.ReadOnlyPaths,
		uid:           r.opts.UID,
		gid:           r.opts.GID,
	})
	if err != nil {
		return nil, fmt.Errorf("gvisor: %w", err)
	}
	return r.launch(ctx, id, b, req, cmd)
}

// checkRootDir refuses an input root that cannot be mounted where it is.
func (r *Runner) checkRootDir(rootDir, workDir string) error {
	if err := isolationpolicy.CheckRootDir(rootDir, workDir, r.opts.ReadOnlyPaths); err != nil {
		return fmt.Errorf("gvisor: %w", err)
	}
	if rootDir == "/tmp" {
		return fmt.Errorf("gvisor: input root %s is the sandbox's own /tmp; move the worker's data directory", rootDir)
	}
	return nil
}

// visible says whether a path is in the sandbox: in the input root or a
// read-only path.
func (r *Runner) visible(rootDir string) func(string) bool {
	return func(p string) bool {
		p = filepath.Clean(p)
		if isolationpolicy.Under(p, rootDir) {
			return true
		}
		for _, ro := range r.opts.ReadOnlyPaths {
			if isolationpolicy.Under(p, ro) {
				return true
			}
		}
		return false
	}
}

// hasFile reports whether p is an executable file on the host.
func hasFile(p string) bool {
	_, err := argv0.Resolve(p, "/", nil, "", nil)
	return err == nil
}
