package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/kilnbuild/kiln/worker/isolationpolicy"

	"github.com/kilnbuild/kiln/worker"
	"github.com/kilnbuild/kiln/worker/cgroup"
	"github.com/kilnbuild/kiln/worker/sandbox/nsinit"
)

// Hostname is the host name actions see.
const Hostname = "sandbox"

// Runner is a worker.Runner that runs each command in a sandbox of its
// own (see the package doc).
type Runner struct {
	opts Options
	// rootless: the worker is not root, so the init needs a user
	// namespace of its own to build the sandbox.
	rootless bool
	// cgroups: actions get a cgroup each.
	cgroups bool
	// id tells this runner's cgroups from other runners' in one process.
	id  string
	seq atomic.Int64
	// fallbackPath resolves commands of actions that set no PATH, as
	// the process runner does with the worker's.
	fallbackPath string
	// initPath is the binary re-executed as the init.
	initPath string
	// drainGrace bounds how long the output copiers may run after the
	// init exited; nothing of the sandbox can hold the pipes by then.
	drainGrace time.Duration
	// pool holds sandboxes prepared ahead; nil keeps none.
	pool *pool
	// defaultLimits are those of an action that asks for none: the
	// limits of the cgroups prepared with pooled sandboxes.
	defaultLimits cgroup.Limits
}

// probeTimeout bounds New's check that a sandbox can be built.
const probeTimeout = 30 * time.Second

// New returns a Runner, after checking that this host can build a
// sandbox: an error says why not (no namespaces, no right to mount).
func New(opts Options) (*Runner, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	id := make([]byte, 4)
	_, _ = rand.Read(id)
	r := &Runner{
		opts:         opts,
		rootless:     os.Geteuid() != 0,
		id:           hex.EncodeToString(id),
		fallbackPath: os.Getenv("PATH"),
		initPath:     "/proc/self/exe",
		drainGrace:   2 * time.Second,
	}
	if r.defaultLimits, err = cgroup.LimitsFromPlatform(nil, opts.DefaultLimits, opts.MaxLimits); err != nil {
		return nil, fmt.Errorf("sandbox: default limits: %w", err)
	}
	if opts.CgroupParent != "" {
		if err := r.checkCgroups(); err != nil {
			opts.Logger.Warn("sandbox: cgroups cannot be used; memory and CPU limits are not enforced, the process count is (RLIMIT_NPROC)",
				"cgroup_parent", opts.CgroupParent, "err", err)
		} else {
			r.cgroups = true
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	if err := r.probe(ctx); err != nil {
		return nil, fmt.Errorf("sandbox: this host cannot build sandboxes: %w", err)
	}
	if opts.Ready > 0 {
		r.pool = &pool{r: r, size: opts.Ready}
		r.pool.fill()
	}
	return r, nil
}

// checkCgroups makes and removes a cgroup as actions will have: a host
// may have cgroups and still refuse them to this worker (cgroup v2 does
// below a cgroup that holds processes).
func (r *Runner) checkCgroups() error {
	mode, err := cgroup.Available()
	if err != nil {
		return fmt.Errorf("cgroup mode %v: %w", mode, err)
	}
	g, err := r.newGroup(r.defaultLimits)
	if err != nil {
		return err
	}
	return g.Destroy()
}

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
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tmp, err := r.makeTmp(cmd.RootDir)
	if err != nil {
		return nil, err
	}
	if !r.rootless {
		if err := isolationpolicy.GiveDirs(cmd.RootDir, r.opts.UID, r.opts.GID); err != nil {
			return nil, errors.Join(fmt.Errorf("giving the input root to the sandbox user: %w", err), os.RemoveAll(tmp))
		}
	}
	act := r.action(cmd.RootDir, tmp, req)
	act.Args, act.Env, act.Dir = cmd.Args, cmd.Env, cmd.WorkingDir
	return r.launch(ctx, act, req, cmd.Stdout, cmd.Stderr, cmd.Timeout)
}

// Close ends the sandboxes kept ready. Runs already going are not
// affected; later runs prepare their sandbox themselves.
func (r *Runner) Close() error {
	if r.pool != nil {
		r.pool.close()
	}
	return nil
}

// action is the part of an init's Action that does not depend on the
// command.
//
// The command gets a user namespace of its own when the worker is not
// root (it would otherwise be root of the init's, with its capabilities),
// and when there are no cgroups: RLIMIT_NPROC then bounds its processes,
// and it counts per user, so the user must be the action's alone. Root
// with cgroups spares the namespace (about 1 ms, see docs/bench.md): the
// command simply runs as UID, and the cgroup counts its processes.
func (r *Runner) action(rootDir, tmpDir string, req isolationpolicy.Request) *nsinit.Action {
	a := &nsinit.Action{
		FallbackPath:  r.fallbackPath,
		RootDir:       rootDir,
		TmpDir:        tmpDir,
		UserNamespace: r.rootless || !r.cgroups,
	}
	if a.UserNamespace {
		a.MaxProcesses = req.Limits.Pids
	}
	if !r.rootless {
		a.CommandUID, a.CommandGID, a.ClearGroups = r.opts.UID, r.opts.GID, true
	}
	return a
}

// checkRootDir refuses an input root that the sandbox cannot mount where
// it is: a worker data directory under a read-only path or one the
// sandbox makes.
func (r *Runner) checkRootDir(rootDir, workDir string) error {
	if err := isolationpolicy.CheckRootDir(rootDir, workDir, r.opts.ReadOnlyPaths); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}

// makeTmp makes the action's /tmp: a directory beside the input root, on
// the same disk (a tmpfs would hold big temporary files in memory), owned
// by the action's user and reachable by nobody else.
func (r *Runner) makeTmp(rootDir string) (string, error) {
	tmp, err := os.MkdirTemp(filepath.Dir(rootDir), "sandbox-tmp-")
	if err != nil {
		return "", fmt.Errorf("sandbox: creating the action's /tmp: %w", err)
	}
	if !r.rootless {
		if err := os.Chown(tmp, r.opts.UID, r.opts.GID); err != nil {
			return "", errors.Join(fmt.Errorf("sandbox: giving /tmp to the sandbox user: %w", err), os.RemoveAll(tmp))
		}
	}
	return tmp, nil
}

// probe builds a sandbox in a scratch directory and runs nothing.
func (r *Runner) probe(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "kiln-sandbox-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		return err
	}
	tmp, err := r.makeTmp(root)
	if err != nil {
		return err
	}
	req := isolationpolicy.Request{}
	act := r.action(root, tmp, req)
	act.Probe = true
	var stderr limitedBuffer
	res, err := r.launch(ctx, act, req, nil, &stderr, 0)
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("the sandbox init exited with status %d: %s", res.ExitCode, stderr.String())
	}
	return nil
}
