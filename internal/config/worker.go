package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// WorkerConfig is about running actions: the local workers of `kiln up`
// and the `kiln worker` process.
type WorkerConfig struct {
	// Concurrency is how many actions run at once. For `kiln up` it is
	// the number of local worker slots, and 0 runs none.
	Concurrency int `yaml:"concurrency"`
	// DataDir holds the worker's input file cache and action
	// directories; empty means <data_dir>/worker. One worker per
	// directory.
	DataDir string `yaml:"data_dir"`
	// FileCacheMaxSize bounds the local cache of input files.
	FileCacheMaxSize ByteSize `yaml:"file_cache_max_size"`
	// Platform lists properties the worker offers on top of the ones it
	// detects (OSFamily, ISA); a name given here replaces the detected
	// property of that name.
	Platform Platform `yaml:"platform"`
	// Scheduler is the grpc://HOST:PORT a `kiln worker` polls for work.
	Scheduler string `yaml:"scheduler"`
	// CAS is where a `kiln worker` reads inputs and writes outputs;
	// empty means the scheduler's endpoint.
	CAS string `yaml:"cas"`
	// ActionCache is where a `kiln worker` records results; empty means
	// the CAS endpoint.
	ActionCache string `yaml:"action_cache"`
	// Runner is the isolation of actions that ask for none (the platform
	// property isolation=NAME chooses another one the worker offers):
	// "sandbox" (Linux namespaces, see Sandbox) or "process" (a plain
	// child process, no isolation at all).
	Runner string `yaml:"runner"`
	// AllowProcess offers isolation=process besides the runner: any
	// client could then run actions without isolation.
	AllowProcess bool `yaml:"allow_process"`
	// Sandbox configures the sandbox runner.
	Sandbox SandboxConfig `yaml:"sandbox"`
}

// Worker defaults and runner names.
const (
	DefaultFileCacheMaxSize = 10 * GiB
	RunnerProcess           = "process"
	RunnerSandbox           = "sandbox"
)

// Runners are the values worker.runner takes.
var Runners = []string{RunnerSandbox, RunnerProcess}

// WorkerDir is the worker's data directory: worker.data_dir, else
// <data_dir>/worker.
func (c Config) WorkerDir() string {
	if c.Worker.DataDir != "" {
		return c.Worker.DataDir
	}
	return filepath.Join(c.DataDir, "worker")
}

// WorkerCAS is the CAS endpoint of a `kiln worker`: worker.cas, else the
// scheduler's.
func (c Config) WorkerCAS() string {
	if c.Worker.CAS != "" {
		return c.Worker.CAS
	}
	return c.Worker.Scheduler
}

// WorkerActionCache is the action cache endpoint of a `kiln worker`:
// worker.action_cache, else its CAS endpoint.
func (c Config) WorkerActionCache() string {
	if c.Worker.ActionCache != "" {
		return c.Worker.ActionCache
	}
	return c.WorkerCAS()
}

// PlatformProperty is one platform property a worker offers.
type PlatformProperty struct {
	Name  string
	Value string
}

func (p PlatformProperty) String() string { return p.Name + "=" + p.Value }

// ParsePlatformProperty reads "name=value" (the value may be empty or
// contain '=').
func ParsePlatformProperty(s string) (PlatformProperty, error) {
	name, value, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(name) == "" {
		return PlatformProperty{}, fmt.Errorf("platform property %q is not name=value", s)
	}
	return PlatformProperty{Name: name, Value: value}, nil
}

// Platform is a list of properties. In YAML it is either a mapping of
// names to values, or a list of "name=value" strings, which can offer
// several values of one name:
//
//	platform: {pool: gpu, cores: "8"}
//	platform: ["pool=gpu", "pool=default"]
type Platform []PlatformProperty

// UnmarshalYAML implements yaml.Unmarshaler.
func (p *Platform) UnmarshalYAML(n *yaml.Node) error {
	var out Platform
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				return fmt.Errorf("the value of %q must be a string", k.Value)
			}
			out = append(out, PlatformProperty{Name: k.Value, Value: v.Value})
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: list items must be \"name=value\" strings", item.Line)
			}
			prop, err := ParsePlatformProperty(item.Value)
			if err != nil {
				return err
			}
			out = append(out, prop)
		}
	case yaml.ScalarNode:
		if n.Tag != "!!null" {
			return fmt.Errorf("must be a mapping of names to values or a list of \"name=value\", not %q", n.Value)
		}
	default:
		return fmt.Errorf("must be a mapping of names to values or a list of \"name=value\"")
	}
	*p = out
	return nil
}

func (p Platform) String() string {
	s := make([]string, len(p))
	for i, prop := range p {
		s[i] = prop.String()
	}
	return strings.Join(s, ",")
}

// validateRunner checks the runner and the sandbox section.
func (w WorkerConfig) validateRunner() []error {
	var errs []error
	if !slices.Contains(Runners, w.Runner) {
		errs = append(errs, fmt.Errorf("worker.runner: %q is not one of %s", w.Runner, strings.Join(Runners, ", ")))
	}
	return append(errs, w.Sandbox.validate()...)
}
