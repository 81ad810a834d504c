package loadgen

import (
	"fmt"
	"strings"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
)

// Config chooses and shapes the scenarios of a run.
type Config struct {
	Load Load
	// Sizes are the blob sizes of the ByteStream scenarios.
	Sizes []int64
	// FindMissingDigests is the number of digests per FindMissingBlobs call.
	FindMissingDigests int
	// BatchBlobs and BatchBlobSize shape each BatchUpdateBlobs request.
	BatchBlobs    int
	BatchBlobSize int64
	// ACEntries is the number of action cache entries written and read;
	// ACOutputFiles the output files each one refers to.
	ACEntries     int
	ACOutputFiles int
	// VerifyReads makes ByteStream reads hash what they get.
	VerifyReads bool
	// ExecLatencyActions and ExecThroughputActions are the actions the
	// execution scenarios run (Load.Count overrides both when positive;
	// Load.Duration does not apply to them). ExecConcurrency is the number
	// of Execute calls exec-throughput keeps in flight.
	ExecLatencyActions    int
	ExecThroughputActions int
	ExecConcurrency       int
	// ExecPlatform goes on every action the execution scenarios run.
	ExecPlatform []*repb.Platform_Property
}

// DefaultConfig is what the command runs without flags.
func DefaultConfig() Config {
	return Config{
		Load:               Load{Concurrency: 4, Duration: 10 * time.Second},
		Sizes:              []int64{4 << 10, 1 << 20, 64 << 20},
		FindMissingDigests: 10000,
		BatchBlobs:         100,
		BatchBlobSize:      1 << 10,
		ACEntries:          1000,
		ACOutputFiles:      2,

		ExecLatencyActions:    200,
		ExecThroughputActions: 2000,
		ExecConcurrency:       100,
	}
}

// builder makes the scenarios of one family from the run's configuration.
type builder func(Config, *BlobGenerator) []Scenario

// execActions is the number of actions an execution scenario runs.
func (c Config) execActions(n int) int {
	if c.Load.Count > 0 {
		return int(c.Load.Count)
	}
	return n
}

// families maps the names accepted by --scenarios to builders. New kinds of
// load add an entry here and a file of their own.
func families() map[string]builder {
	return map[string]builder{
		"bytestream-write": func(c Config, g *BlobGenerator) []Scenario {
			var out []Scenario
			for _, size := range c.Sizes {
				out = append(out, &ByteStreamWrite{Size: size, Load: c.Load, Generator: g})
			}
			return out
		},
		"bytestream-read": func(c Config, g *BlobGenerator) []Scenario {
			var out []Scenario
			for _, size := range c.Sizes {
				out = append(out, &ByteStreamRead{Size: size, Load: c.Load, Verify: c.VerifyReads, Generator: g})
			}
			return out
		},
		"findmissing": func(c Config, g *BlobGenerator) []Scenario {
			return []Scenario{&FindMissing{Digests: c.FindMissingDigests, Load: c.Load, Generator: g}}
		},
		"batchupdate": func(c Config, g *BlobGenerator) []Scenario {
			return []Scenario{&BatchUpdate{Blobs: c.BatchBlobs, BlobSize: c.BatchBlobSize, Load: c.Load, Generator: g}}
		},
		"getactionresult": func(c Config, g *BlobGenerator) []Scenario {
			return []Scenario{&GetActionResult{Entries: c.ACEntries, OutputFiles: c.ACOutputFiles, Load: c.Load, Generator: g}}
		},
		"exec-latency": func(c Config, _ *BlobGenerator) []Scenario {
			return []Scenario{&ExecLatency{Actions: c.execActions(c.ExecLatencyActions), Platform: c.ExecPlatform}}
		},
		"exec-throughput": func(c Config, _ *BlobGenerator) []Scenario {
			return []Scenario{&ExecThroughput{Actions: c.execActions(c.ExecThroughputActions), Concurrency: c.ExecConcurrency, Platform: c.ExecPlatform}}
		},
	}
}

// ScenarioNames lists the names accepted by Build, in the order "all" runs
// them: writes before reads, because reads need uploads to work anyway;
// execution last.
func ScenarioNames() []string {
	return append(CacheScenarioNames(), ExecutionScenarioNames()...)
}

// CacheScenarioNames lists the scenarios that need only CAS, ByteStream and
// the action cache: what "all" means for an endpoint without execution.
func CacheScenarioNames() []string {
	return []string{"bytestream-write", "bytestream-read", "findmissing", "batchupdate", "getactionresult"}
}

// ExecutionScenarioNames lists the scenarios that call Execute.
func ExecutionScenarioNames() []string {
	return []string{"exec-latency", "exec-throughput"}
}

// Build returns the scenarios named (or all of them for "all"), in the
// order given, sharing one generator of blobs hashed with gen's function.
func Build(names []string, c Config, gen *BlobGenerator) ([]Scenario, error) {
	var out []Scenario
	fams := families()
	for _, name := range names {
		name = strings.TrimSpace(name)
		if name == "all" {
			all, err := Build(ScenarioNames(), c, gen)
			if err != nil {
				return nil, err
			}
			out = append(out, all...)
			continue
		}
		b, ok := fams[name]
		if !ok {
			return nil, fmt.Errorf("unknown scenario %q (known: all, %s)", name, strings.Join(ScenarioNames(), ", "))
		}
		out = append(out, b(c, gen)...)
	}
	return out, nil
}

// MaxBlobSize is the largest blob the scenarios of c generate: the size the
// blob generator needs.
func (c Config) MaxBlobSize() int64 {
	n := max(c.BatchBlobSize, findMissingBlobSize, acOutputSize)
	for _, s := range c.Sizes {
		n = max(n, s)
	}
	return n
}
