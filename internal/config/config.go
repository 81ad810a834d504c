// Package config owns Kiln's typed configuration: the Config struct, its
// defaults, loading it from a YAML file, overriding it with command-line
// flags, and validating it. It only describes what to run; building the
// stores and servers from it is the job of cmd/kiln.
//
// The file is split in sections (server, log, cas, action_cache) so that
// later roles (scheduler, worker) add a section of their own without
// touching the others.
package config

import (
	"os"
	"path/filepath"
	"time"
)

// Config is everything `kiln` can be told at start-up. Its YAML form uses
// the yaml tags below; unknown keys are an error.
type Config struct {
	// DataDir holds everything Kiln keeps on disk; the CAS and the action
	// cache each get a subdirectory.
	DataDir string `yaml:"data_dir"`

	Server      ServerConfig      `yaml:"server"`
	Log         LogConfig         `yaml:"log"`
	CAS         CASConfig         `yaml:"cas"`
	ActionCache ActionCacheConfig `yaml:"action_cache"`
}

// ServerConfig is about the network endpoints.
type ServerConfig struct {
	// Listen is the host:port of the gRPC endpoint that clients dial.
	Listen string `yaml:"listen"`
	// MetricsListen is the host:port of the HTTP endpoint serving /metrics
	// and /healthz. Empty disables it.
	MetricsListen string `yaml:"metrics_listen"`
	// ShutdownGrace bounds how long a stop waits for running calls (a
	// large upload, say) before it cuts them off.
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
}

// LogConfig is about what goes to stderr.
type LogConfig struct {
	// Level is one of debug, info, warn, error.
	Level string `yaml:"level"`
	// Format is text (for people) or json (for log collectors).
	Format string `yaml:"format"`
}

// CASConfig is about the content-addressable storage.
type CASConfig struct {
	// MaxSize bounds the disk CAS; the least recently used blobs are
	// evicted to stay under it.
	MaxSize ByteSize `yaml:"max_size"`
	// MaxBatchTotalSize is the largest BatchUpdateBlobs/BatchReadBlobs
	// request the server accepts; it is advertised to clients, and the
	// gRPC message limit is sized from it.
	MaxBatchTotalSize ByteSize `yaml:"max_batch_total_size"`
}

// ActionCacheConfig is about the action cache.
type ActionCacheConfig struct {
	// UpdateEnabled lets clients write results with UpdateActionResult.
	// Bazel's --remote_cache needs it to upload what it built locally.
	UpdateEnabled bool `yaml:"update_enabled"`
	// MaxSize bounds the disk action cache; the least recently used
	// entries are evicted to stay under it.
	MaxSize ByteSize `yaml:"max_size"`
}

// Default values. They make `kiln up` work on a laptop with no config file.
const (
	DefaultListen            = "127.0.0.1:8980"
	DefaultMetricsListen     = "127.0.0.1:9090"
	DefaultShutdownGrace     = 10 * time.Second
	DefaultCASMaxSize        = 10 * GiB
	DefaultMaxBatchTotalSize = 4 * MiB
	// Entries are small (a few KiB), so this holds millions of them.
	DefaultActionCacheMaxSize = 1 * GiB
)

// Default returns a Config that is valid as it is.
func Default() Config {
	return Config{
		DataDir: defaultDataDir(),
		Server: ServerConfig{
			Listen:        DefaultListen,
			MetricsListen: DefaultMetricsListen,
			ShutdownGrace: DefaultShutdownGrace,
		},
		Log: LogConfig{Level: "info", Format: "text"},
		CAS: CASConfig{
			MaxSize:           DefaultCASMaxSize,
			MaxBatchTotalSize: DefaultMaxBatchTotalSize,
		},
		ActionCache: ActionCacheConfig{
			UpdateEnabled: true,
			MaxSize:       DefaultActionCacheMaxSize,
		},
	}
}

// defaultDataDir is the user's cache directory, because everything Kiln
// keeps can be rebuilt. Without a home directory (some containers) it falls
// back to the temporary directory.
func defaultDataDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "kiln")
	}
	return filepath.Join(os.TempDir(), "kiln")
}

// CASDir is where the disk CAS keeps its blobs.
func (c Config) CASDir() string { return filepath.Join(c.DataDir, "cas") }

// ActionCacheDir is where the disk action cache keeps its entries.
func (c Config) ActionCacheDir() string { return filepath.Join(c.DataDir, "ac") }
