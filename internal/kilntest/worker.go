package kilntest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// WorkerOptions say how to start `kiln worker`.
type WorkerOptions struct {
	// Scheduler is the host:port of the scheduler the worker pulls from.
	Scheduler string
	// CAS is the host:port of the CAS; empty leaves the flag out, and kiln
	// uses the scheduler's endpoint.
	CAS string
	// DataDir is the worker's own data directory; empty means a fresh
	// temporary one.
	DataDir string
	// Concurrency is how many actions it runs at once; 0 leaves the flag
	// out.
	Concurrency int
	// Args are extra flags after the ones StartWorker passes.
	Args []string
	// Binary is the program to run; empty means Binary(t).
	Binary string
}

// Worker is one running `kiln worker` process.
type Worker struct {
	*Process
}

// lineWorkerStarted is the agent's start-up log line (worker.Agent.Run);
// text and JSON logs both hold the message as it is.
const lineWorkerStarted = "started"

// StartWorker runs `kiln worker` and waits until it logs that it started.
// It is stopped when t ends.
func StartWorker(t testing.TB, opts WorkerOptions) *Worker {
	t.Helper()
	if opts.Scheduler == "" {
		t.Fatal("kilntest: WorkerOptions.Scheduler is required")
	}
	dataDir := opts.DataDir
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	args := []string{"worker", "--scheduler=grpc://" + opts.Scheduler, "--data-dir=" + dataDir}
	if opts.CAS != "" {
		args = append(args, "--cas=grpc://"+opts.CAS)
	}
	if opts.Concurrency > 0 {
		args = append(args, fmt.Sprintf("--concurrency=%d", opts.Concurrency))
	}
	args = append(args, opts.Args...)
	bin := opts.Binary
	if bin == "" {
		bin = Binary(t)
	}
	lines := newLineWatcher(map[string]*regexp.Regexp{
		lineWorkerStarted: regexp.MustCompile(`worker started`),
	})
	return &Worker{Process: startProcess(t, bin, args, dataDir, lines, lineWorkerStarted)}
}

// ActionDirs lists the directories the worker holds for running actions
// (DataDir/actions/*, see worker.Options.DataDir): a test sees from them
// which worker runs an action.
func (w *Worker) ActionDirs() ([]string, error) {
	return ActionDirs(w.DataDir)
}

// ActionDirs lists the action directories under a worker data directory.
func ActionDirs(dataDir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(dataDir, "actions"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	dirs := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(dataDir, "actions", e.Name()))
		}
	}
	return dirs, nil
}
