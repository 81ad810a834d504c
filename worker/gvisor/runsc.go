package gvisor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// runsc runs runsc's commands against one state directory.
type runsc struct {
	path string
	// global are the flags every command gets: --root, --platform, ...
	global []string
}

// controlTimeout bounds runsc's control commands (kill, delete, list).
const controlTimeout = 30 * time.Second

// runCommand is `runsc run` of the bundle as container id: it creates the
// sandbox, starts the command in it and exits with its status (128+n for
// signal n). network is runsc's --network.
func (r runsc) runCommand(bundleDir, id, network string) *exec.Cmd {
	args := append(append([]string{}, r.global...),
		"--network="+network,
		// The action's cgroup is made by this package, not by runsc.
		"--ignore-cgroups",
		"--log="+filepath.Join(bundleDir, "runsc.log"),
		"run", "--bundle", bundleDir, id)
	c := exec.Command(r.path, args...)
	// The sandbox's processes are runsc's children ("attached") and die
	// with it; runsc dies with the worker.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	return c
}

// control runs a short runsc command and returns its error with what it
// printed.
func (r runsc) control(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, controlTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, r.path, append(append([]string{}, r.global...), args...)...)
	c.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return nil, fmt.Errorf("runsc %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// kill sends SIGKILL to every process of the container.
func (r runsc) kill(ctx context.Context, id string) error {
	_, err := r.control(ctx, "kill", "--all", id, "KILL")
	return err
}

// delete forgets the container, killing its sandbox if it still runs.
func (r runsc) delete(ctx context.Context, id string) error {
	_, err := r.control(ctx, "delete", "--force", id)
	return err
}

// list names the containers in the state directory.
func (r runsc) list(ctx context.Context) ([]string, error) {
	out, err := r.control(ctx, "list", "--format=json")
	if err != nil {
		return nil, err
	}
	var containers []struct {
		ID string `json:"id"`
	}
	if s := strings.TrimSpace(string(out)); s == "" || s == "null" {
		return nil, nil
	}
	if err := json.Unmarshal(out, &containers); err != nil {
		return nil, fmt.Errorf("runsc list: %w", err)
	}
	ids := make([]string, 0, len(containers))
	for _, c := range containers {
		ids = append(ids, c.ID)
	}
	return ids, nil
}
