// Command bench is Kiln's load generator: it drives any REAPI endpoint,
// Kiln's or another's, with ByteStream, CAS, action cache and execution load
// and prints throughput and latency. The scenarios live in bench/loadgen; this file only
// parses flags and prints.
//
//	go run ./bench --target=grpc://127.0.0.1:8980 --scenarios=bytestream-write,findmissing --duration=10s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/bench/loadgen"
	"github.com/kilnbuild/kiln/internal/digest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		os.Exit(1)
	}
}

// flags holds the command line.
type flags struct {
	target, instance, scenarios, sizes, digestFunction string
	chunkSize, batchBlobSize                           string
	json, skipCapabilities                             bool
	headers                                            headerFlag
	platform                                           platformFlag
	cfg                                                loadgen.Config
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{cfg: loadgen.DefaultConfig()}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.target, "target", "grpc://127.0.0.1:8980", "REAPI endpoint: grpc://host:port, grpcs://host:port or unix:///path")
	fs.StringVar(&f.instance, "instance", "", "REAPI instance name")
	fs.StringVar(&f.scenarios, "scenarios", "all", "comma-separated scenarios: all, "+strings.Join(loadgen.ScenarioNames(), ", "))
	fs.StringVar(&f.sizes, "sizes", "4KiB,1MiB,64MiB", "blob sizes of the bytestream scenarios")
	fs.StringVar(&f.digestFunction, "digest-function", "sha256", "digest function: sha256, sha1, sha384, sha512, blake3")
	fs.StringVar(&f.chunkSize, "chunk-size", "1MiB", "ByteStream write chunk size")
	fs.DurationVar(&f.cfg.Load.Duration, "duration", f.cfg.Load.Duration, "timed phase of each scenario")
	fs.Int64Var(&f.cfg.Load.Count, "count", 0, "operations per scenario; overrides --duration when positive")
	fs.IntVar(&f.cfg.Load.Concurrency, "concurrency", f.cfg.Load.Concurrency, "operations in flight at once")
	fs.IntVar(&f.cfg.FindMissingDigests, "findmissing-digests", f.cfg.FindMissingDigests, "digests per FindMissingBlobs request, half present")
	fs.IntVar(&f.cfg.BatchBlobs, "batch-blobs", f.cfg.BatchBlobs, "blobs per BatchUpdateBlobs request")
	fs.StringVar(&f.batchBlobSize, "batch-blob-size", "1KiB", "size of each blob in BatchUpdateBlobs")
	fs.IntVar(&f.cfg.ACEntries, "ac-entries", f.cfg.ACEntries, "action cache entries written, then read")
	fs.IntVar(&f.cfg.ACOutputFiles, "ac-output-files", f.cfg.ACOutputFiles, "output files per action result")
	fs.IntVar(&f.cfg.ExecLatencyActions, "exec-latency-actions", f.cfg.ExecLatencyActions, "actions exec-latency runs, one at a time")
	fs.IntVar(&f.cfg.ExecThroughputActions, "exec-throughput-actions", f.cfg.ExecThroughputActions, "actions exec-throughput runs")
	fs.IntVar(&f.cfg.ExecConcurrency, "exec-concurrency", f.cfg.ExecConcurrency, "Execute calls exec-throughput keeps in flight")
	fs.Var(&f.platform, "platform", "name=value platform property of the exec scenarios' actions; repeatable")
	fs.BoolVar(&f.cfg.VerifyReads, "verify", false, "hash every blob read (costs client CPU)")
	fs.BoolVar(&f.json, "json", false, "print JSON instead of a table")
	fs.BoolVar(&f.skipCapabilities, "skip-capabilities", false, "do not call GetCapabilities first")
	fs.Var(&f.headers, "header", "name=value sent with every RPC; repeatable")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	f.cfg.Sizes = nil
	for _, s := range strings.Split(f.sizes, ",") {
		n, err := loadgen.ParseSize(s)
		if err != nil {
			return nil, err
		}
		f.cfg.Sizes = append(f.cfg.Sizes, n)
	}
	n, err := loadgen.ParseSize(f.batchBlobSize)
	if err != nil {
		return nil, err
	}
	f.cfg.BatchBlobSize = n
	if f.cfg.Load.Concurrency < 1 {
		return nil, fmt.Errorf("--concurrency must be at least 1, not %d", f.cfg.Load.Concurrency)
	}
	if f.cfg.Load.Count <= 0 && f.cfg.Load.Duration <= 0 {
		return nil, errors.New("give a positive --duration or --count")
	}
	if f.cfg.ExecLatencyActions < 1 || f.cfg.ExecThroughputActions < 1 || f.cfg.ExecConcurrency < 1 {
		return nil, errors.New("--exec-latency-actions, --exec-throughput-actions and --exec-concurrency must be at least 1")
	}
	f.cfg.ExecPlatform = f.platform
	return f, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	fn, ok := digest.ParseFunctionName(f.digestFunction)
	if !ok || !digest.Supported(fn) {
		return fmt.Errorf("unknown digest function %q", f.digestFunction)
	}
	chunk, err := loadgen.ParseSize(f.chunkSize)
	if err != nil || chunk < 1 || chunk > 64<<20 {
		return fmt.Errorf("--chunk-size %q: want 1B to 64MiB", f.chunkSize)
	}
	client, err := loadgen.Dial(f.target, loadgen.DialOptions{
		Instance: f.instance, DigestFunction: fn, ChunkSize: int(chunk), Headers: f.headers,
	})
	if err != nil {
		return err
	}
	defer client.Close()
	names := strings.Split(f.scenarios, ",")
	if !f.skipCapabilities {
		caps, err := client.CheckCapabilities(ctx)
		if err != nil {
			return fmt.Errorf("%w (use --skip-capabilities to go on anyway)", err)
		}
		if !caps.GetExecutionCapabilities().GetExecEnabled() && slices.Contains(names, "all") {
			log.Info("the server does not advertise execution; \"all\" skips " + strings.Join(loadgen.ExecutionScenarioNames(), " and "))
			names = slices.DeleteFunc(names, func(n string) bool { return n == "all" })
			names = append(loadgen.CacheScenarioNames(), names...)
		}
	}
	gen, err := loadgen.NewBlobGenerator(fn, f.cfg.MaxBlobSize())
	if err != nil {
		return err
	}
	scenarios, err := loadgen.Build(names, f.cfg, gen)
	if err != nil {
		return err
	}
	var results []loadgen.Result
	failed := false
	for _, s := range scenarios {
		log.Info("running", "scenario", s.Name(), "target", f.target)
		r, err := s.Run(ctx, client)
		if err != nil {
			log.Error("scenario failed", "scenario", s.Name(), "err", err)
			failed = true
			continue
		}
		if r.Errors > 0 {
			failed = true
		}
		results = append(results, r)
		if ctx.Err() != nil {
			break
		}
	}
	if f.json {
		err = loadgen.WriteJSON(stdout, results)
	} else {
		err = loadgen.WriteTable(stdout, results)
	}
	if err != nil {
		return err
	}
	if failed {
		return errors.New("some operations failed; see above")
	}
	return ctx.Err()
}

// headerFlag collects repeated --header name=value flags.
type headerFlag map[string]string

func (h *headerFlag) String() string { return fmt.Sprint(map[string]string(*h)) }

func (h *headerFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("header %q: want name=value", v)
	}
	if *h == nil {
		*h = headerFlag{}
	}
	(*h)[name] = value
	return nil
}

// platformFlag collects repeated --platform name=value flags.
type platformFlag []*repb.Platform_Property

func (p *platformFlag) String() string {
	var out []string
	for _, prop := range *p {
		out = append(out, prop.GetName()+"="+prop.GetValue())
	}
	return strings.Join(out, ",")
}

func (p *platformFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("platform property %q: want name=value", v)
	}
	*p = append(*p, &repb.Platform_Property{Name: name, Value: value})
	return nil
}
