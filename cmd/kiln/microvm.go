package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kilnbuild/kiln/internal/config"
	"github.com/kilnbuild/kiln/worker"
	"github.com/kilnbuild/kiln/worker/microvm"
)

// A worker's microVM files live in its data directory: the guest image
// that `kiln microvm image` builds, and the runner's snapshots and guests.
func microVMImageDir(workerDir string) string { return filepath.Join(workerDir, "microvm", "image") }
func microVMStateDir(workerDir string) string { return filepath.Join(workerDir, "microvm", "state") }

// guestAgentName is the static guest agent's binary (cmd/kiln-guest-agent).
const guestAgentName = "kiln-guest-agent"

func runMicroVM(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := func(w io.Writer) {
		fmt.Fprintln(w, "Usage: kiln microvm image [flags]")
		fmt.Fprintln(w, "\nThe microvm isolation runs each action in its own QEMU microVM. Its guest")
		fmt.Fprintln(w, "image must be built first; a worker offers isolation=microvm once it finds the")
		fmt.Fprintln(w, "image in its data directory and QEMU on PATH. Run 'kiln microvm image -help'.")
	}
	if len(args) == 0 {
		usage(stderr)
		return usagef("microvm needs a subcommand")
	}
	switch args[0] {
	case "image":
		return runMicroVMImage(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return nil
	}
	usage(stderr)
	return usagef("unknown microvm subcommand %q", args[0])
}

func runMicroVMImage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("microvm image", flag.ContinueOnError)
	def := config.Default()
	dataDir := fs.String("data-dir", def.DataDir, "Kiln's data `directory`; the image goes to <data-dir>/worker/microvm/image")
	workerDir := fs.String("worker-data-dir", "", "the worker's data `directory`, when not <data-dir>/worker (worker.data_dir)")
	kernelDir := fs.String("kernel-dir", microvm.DefaultKernelDir, "an unpacked kernel package (boot/vmlinuz-*, lib/modules/*), as scripts/microvm-deps.sh makes")
	kernel := fs.String("kernel", "", "a kernel `file` (bzImage) instead of -kernel-dir's")
	modules := fs.String("modules", "", "the kernel's lib/modules/RELEASE `directory`, with -kernel")
	agentPath := fs.String("agent", "", "the static guest agent `file`; default: "+guestAgentName+" beside kiln, else on PATH")
	toolchain := fs.String("toolchain", strings.Join(microvm.DefaultToolchain, ","), "comma-separated host `paths` guests see read-only")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: kiln microvm image [flags]")
		fmt.Fprintln(fs.Output(), "\nBuilds the microVM guest image into the worker's data directory: the kernel, an")
		fmt.Fprintln(fs.Output(), "initramfs whose /init is Kiln's guest agent, and one read-only ext4 device per")
		fmt.Fprintln(fs.Output(), "toolchain path. The same inputs give the same kernel and initramfs bytes.")
		fmt.Fprintln(fs.Output(), "\nFlags:")
		fs.PrintDefaults()
	}
	if ok, err := parseFlags(fs, args, stderr); !ok {
		return err
	}
	cfg := config.Config{DataDir: *dataDir, Worker: config.WorkerConfig{DataDir: *workerDir}}
	opts := microvm.BuildOptions{
		Dir:     microVMImageDir(cfg.WorkerDir()),
		Kernel:  *kernel,
		Modules: *modules,
		Agent:   *agentPath,
		Logger:  slog.New(slog.NewTextHandler(stderr, nil)),
	}
	for _, p := range strings.Split(*toolchain, ",") {
		if p = strings.TrimSpace(p); p != "" {
			opts.Toolchain = append(opts.Toolchain, p)
		}
	}
	if opts.Kernel == "" {
		k, m, err := microvm.FindKernel(*kernelDir)
		if err != nil {
			return err
		}
		opts.Kernel, opts.Modules = k, m
	}
	if opts.Agent == "" {
		p, err := findGuestAgent()
		if err != nil {
			return err
		}
		opts.Agent = p
	}
	img, err := microvm.BuildImage(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "microVM guest image in %s (kernel %s, %d toolchain devices, fingerprint %s)\n",
		img.Dir, img.Manifest.KernelRelease, len(img.Manifest.Toolchain), img.Manifest.Fingerprint)
	return nil
}

// findGuestAgent looks for the agent beside this binary, then on PATH.
func findGuestAgent() (string, error) {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), guestAgentName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(guestAgentName); err == nil {
		return p, nil
	}
	return "", errors.New("no " + guestAgentName + " beside kiln or on PATH: build it with `make microvm-agent` (CGO_ENABLED=0 go build ./cmd/kiln-guest-agent) or pass -agent")
}

// newMicroVMRunner is the worker's microvm runner, or nil when this worker
// cannot offer it (no guest image, no QEMU): then it says why in the log.
func newMicroVMRunner(workerDir string, logger *slog.Logger) worker.Runner {
	log := logger.With("component", "microvm")
	imageDir := microVMImageDir(workerDir)
	if _, err := microvm.LoadImage(imageDir); err != nil {
		if errors.Is(err, microvm.ErrNoImage) {
			log.Debug("isolation=microvm not offered: no guest image", "dir", imageDir)
		} else {
			log.Warn("isolation=microvm not offered", "err", err)
		}
		return nil
	}
	r, err := microvm.NewRunner(microvm.Config{ImageDir: imageDir, StateDir: microVMStateDir(workerDir), Logger: log})
	if err != nil {
		log.Warn("isolation=microvm not offered", "err", err)
		return nil
	}
	log.Info("isolation=microvm offered", "image", imageDir)
	return r
}

// microVMIsolation is the isolation name the microvm runner is offered as.
const microVMIsolation = microvm.Isolation
