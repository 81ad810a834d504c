package config

import (
	"flag"
	"fmt"
	"strconv"
	"time"
)

// Flags binds command-line flags to Config fields on one flag.FlagSet (one
// per subcommand; nothing touches the global flag package). Flags override
// the config file, whatever their order on the command line: each parsed
// flag records an override, and Config applies them after loading the file.
type Flags struct {
	configPath string
	overrides  []func(*Config)
}

// BindFlags registers -config and one flag per setting on fs.
func BindFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	d := Default()
	fs.StringVar(&f.configPath, "config", "", "YAML config `file`; flags override it")
	f.bindTopLevel(fs, d)
	f.bindServer(fs, d.Server)
	f.bindLog(fs, d.Log)
	f.bindCAS(fs, d.CAS)
	f.bindActionCache(fs, d.ActionCache)
	return f
}

// Config returns the defaults, overlaid with the config file if -config
// named one, overlaid with the flags that were set, validated.
func (f *Flags) Config() (Config, error) {
	cfg := Default()
	if f.configPath != "" {
		loaded, err := loadUnvalidated(f.configPath)
		if err != nil {
			return Config{}, err
		}
		cfg = loaded
	}
	for _, override := range f.overrides {
		override(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// One bind method per section, so that a later subcommand (worker, say)
// can bind only the sections it reads.

func (f *Flags) bindTopLevel(fs *flag.FlagSet, d Config) {
	f.str(fs, "data-dir", "`directory` for the CAS and action cache (data_dir)", d.DataDir,
		func(c *Config, v string) { c.DataDir = v })
}

func (f *Flags) bindServer(fs *flag.FlagSet, d ServerConfig) {
	f.str(fs, "listen", "gRPC `host:port`; port 0 picks a free one (server.listen)", d.Listen,
		func(c *Config, v string) { c.Server.Listen = v })
	f.str(fs, "metrics-listen", "`host:port` for /metrics and /healthz; empty disables (server.metrics_listen)", d.MetricsListen,
		func(c *Config, v string) { c.Server.MetricsListen = v })
	f.duration(fs, "shutdown-grace", "how long a stop waits for running calls (server.shutdown_grace)", d.ShutdownGrace,
		func(c *Config, v time.Duration) { c.Server.ShutdownGrace = v })
}

func (f *Flags) bindLog(fs *flag.FlagSet, d LogConfig) {
	f.str(fs, "log-level", "debug, info, warn or error (log.level)", d.Level,
		func(c *Config, v string) { c.Log.Level = v })
	f.str(fs, "log-format", "text or json (log.format)", d.Format,
		func(c *Config, v string) { c.Log.Format = v })
}

func (f *Flags) bindCAS(fs *flag.FlagSet, d CASConfig) {
	f.size(fs, "cas-max-size", "disk CAS `size` limit, e.g. 10GiB (cas.max_size)", d.MaxSize,
		func(c *Config, v ByteSize) { c.CAS.MaxSize = v })
	f.size(fs, "max-batch-size", "largest batch request `size`, e.g. 4MiB (cas.max_batch_total_size)", d.MaxBatchTotalSize,
		func(c *Config, v ByteSize) { c.CAS.MaxBatchTotalSize = v })
}

func (f *Flags) bindActionCache(fs *flag.FlagSet, d ActionCacheConfig) {
	f.boolean(fs, "ac-update-enabled", "let clients write action results (action_cache.update_enabled)", d.UpdateEnabled,
		func(c *Config, v bool) { c.ActionCache.UpdateEnabled = v })
	f.size(fs, "ac-max-size", "disk action cache `size` limit (action_cache.max_size)", d.MaxSize,
		func(c *Config, v ByteSize) { c.ActionCache.MaxSize = v })
}

func (f *Flags) str(fs *flag.FlagSet, name, usage, def string, set func(*Config, string)) {
	fs.Func(name, withDefault(usage, strconv.Quote(def)), func(s string) error {
		f.overrides = append(f.overrides, func(c *Config) { set(c, s) })
		return nil
	})
}

func (f *Flags) size(fs *flag.FlagSet, name, usage string, def ByteSize, set func(*Config, ByteSize)) {
	fs.Func(name, withDefault(usage, def.String()), func(s string) error {
		v, err := ParseByteSize(s)
		if err != nil {
			return err
		}
		f.overrides = append(f.overrides, func(c *Config) { set(c, v) })
		return nil
	})
}

func (f *Flags) duration(fs *flag.FlagSet, name, usage string, def time.Duration, set func(*Config, time.Duration)) {
	fs.Func(name, withDefault(usage, def.String()), func(s string) error {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		f.overrides = append(f.overrides, func(c *Config) { set(c, v) })
		return nil
	})
}

func (f *Flags) boolean(fs *flag.FlagSet, name, usage string, def bool, set func(*Config, bool)) {
	fs.BoolFunc(name, withDefault(usage, strconv.FormatBool(def)), func(s string) error {
		v, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		f.overrides = append(f.overrides, func(c *Config) { set(c, v) })
		return nil
	})
}

// withDefault shows the default in -help, which flag.Func cannot do itself.
func withDefault(usage, def string) string {
	return fmt.Sprintf("%s (default %s)", usage, def)
}
