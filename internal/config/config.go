// Package config owns Kiln's typed configuration: the Config struct, its
// defaults, loading it from a YAML file, overriding it with command-line
// flags, and validating it. It only describes what to run; building the
// stores and servers from it is the job of cmd/kiln.
//
// The file is split in sections (server, log, cas, action_cache,
// scheduler, worker), one per concern, so that a role adds a section of its
// own without touching the others.
package config

import (
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// Config is everything `kiln` can be told at start-up. Its YAML form uses
// the yaml tags below; unknown keys are an error.
type Config struct {
	// DataDir holds everything Kiln keeps on disk; the CAS, the action
	// cache and the local worker each get a subdirectory.
	DataDir string `yaml:"data_dir"`
	// Roles are the services `kiln serve` runs (`kiln up` runs all of
	// them, plus local workers).
	Roles []Role `yaml:"roles"`

	Server      ServerConfig      `yaml:"server"`
	Log         LogConfig         `yaml:"log"`
	CAS         CASConfig         `yaml:"cas"`
	ActionCache ActionCacheConfig `yaml:"action_cache"`
	Redis       RedisConfig       `yaml:"redis"`
	Scheduler   SchedulerConfig   `yaml:"scheduler"`
	Worker      WorkerConfig      `yaml:"worker"`
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
	// Backend is where a CAS node keeps blobs: disk (under data_dir) or
	// gcs (a bucket, see GCS), optionally behind a local disk Tier.
	Backend string `yaml:"backend"`
	// MaxSize bounds the disk CAS; the least recently used blobs are
	// evicted to stay under it.
	MaxSize ByteSize `yaml:"max_size"`
	// GCS is the bucket of the gcs backend.
	GCS GCSConfig `yaml:"gcs"`
	// Tier puts a local disk in front of the gcs backend.
	Tier TierConfig `yaml:"tier"`
	// Shards lists the grpc://HOST:PORT of every CAS node of a sharded
	// CAS, the same list on every node; each digest is owned by one of
	// them and any node forwards what it does not own. Empty means one
	// node with all blobs.
	Shards []string `yaml:"shards"`
	// Self is this node's own entry of Shards.
	Self string `yaml:"self"`
	// MaxBatchTotalSize is the largest BatchUpdateBlobs/BatchReadBlobs
	// request the server accepts; it is advertised to clients, and the
	// gRPC message limit is sized from it.
	MaxBatchTotalSize ByteSize `yaml:"max_batch_total_size"`
	// Remote is the grpc://HOST:PORT of the CAS that a process without
	// the cas role stands on (an action cache or scheduler node).
	Remote string `yaml:"remote"`
}

// ActionCacheConfig is about the action cache.
type ActionCacheConfig struct {
	// Backend is where the action cache keeps entries: disk (under
	// data_dir) or redis (the server of the redis section, shared by all
	// replicas).
	Backend string `yaml:"backend"`
	// TTL is how long a Redis entry lives after it was last written or
	// read; 0 keeps it until Redis evicts it.
	TTL time.Duration `yaml:"ttl"`
	// UpdateEnabled lets clients write results with UpdateActionResult.
	// Bazel's --remote_cache needs it to upload what it built locally.
	UpdateEnabled bool `yaml:"update_enabled"`
	// MaxSize bounds the disk action cache; the least recently used
	// entries are evicted to stay under it.
	MaxSize ByteSize `yaml:"max_size"`
	// Remote is the grpc://HOST:PORT of the action cache that a process
	// without the actioncache role uses (a scheduler node); empty means
	// the same endpoint as cas.remote.
	Remote string `yaml:"remote"`
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
		Roles:   AllRoles(),
		Server: ServerConfig{
			Listen:        DefaultListen,
			MetricsListen: DefaultMetricsListen,
			ShutdownGrace: DefaultShutdownGrace,
		},
		Log: LogConfig{Level: "info", Format: "text"},
		CAS: CASConfig{
			Backend:           BackendDisk,
			MaxSize:           DefaultCASMaxSize,
			MaxBatchTotalSize: DefaultMaxBatchTotalSize,
			Tier:              TierConfig{Backend: TierNone, MaxSize: DefaultCASMaxSize},
		},
		ActionCache: ActionCacheConfig{
			Backend:       BackendDisk,
			TTL:           DefaultActionCacheTTL,
			UpdateEnabled: true,
			MaxSize:       DefaultActionCacheMaxSize,
		},
		Redis:     RedisConfig{Prefix: DefaultRedisPrefix},
		Scheduler: defaultScheduler(),
		Worker: WorkerConfig{
			Concurrency:      runtime.NumCPU(),
			FileCacheMaxSize: DefaultFileCacheMaxSize,
			Runner:           RunnerSandbox,
			Sandbox:          defaultSandbox(),
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

// RemoteActionCache is the action cache endpoint of a process without the
// actioncache role: action_cache.remote, else cas.remote.
func (c Config) RemoteActionCache() string {
	if c.ActionCache.Remote != "" {
		return c.ActionCache.Remote
	}
	return c.CAS.Remote
}
