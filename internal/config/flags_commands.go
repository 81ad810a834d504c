package config

import (
	"flag"
	"time"
)

// BindUpFlags registers the flags of `kiln up`: every section, with the
// worker section describing the local workers (-workers=N).
func BindUpFlags(fs *flag.FlagSet) *Flags {
	d := Default()
	f := newFlags(fs, d, nil)
	f.bindDataDir(fs, d)
	f.bindServer(fs, d.Server)
	f.bindLog(fs, d.Log)
	f.bindCAS(fs, d.CAS)
	f.bindActionCache(fs, d.ActionCache)
	f.bindScheduler(fs, d.Scheduler)
	f.integer(fs, "workers", "local worker slots: actions run at once in this process; 0 runs none (worker.concurrency)", d.Worker.Concurrency,
		func(c *Config, v int) { c.Worker.Concurrency = v })
	f.str(fs, "worker-data-dir", "`directory` of the local workers; empty means <data-dir>/worker (worker.data_dir)", d.Worker.DataDir,
		func(c *Config, v string) { c.Worker.DataDir = v })
	f.bindWorkerRunning(fs, d.Worker)
	return f
}

// BindServeFlags registers the flags of `kiln serve`: the roles, the
// sections they read, and the remote endpoints of the roles not served.
func BindServeFlags(fs *flag.FlagSet) *Flags {
	d := Default()
	f := newFlags(fs, d, Config.ValidateServe)
	fs.Func("roles", withDefault("comma-separated `roles` to serve: cas, actioncache, scheduler (roles)", joinRoles(d.Roles)), func(s string) error {
		roles, err := ParseRoles(s)
		if err != nil {
			return err
		}
		f.overrides = append(f.overrides, func(c *Config) { c.Roles = roles })
		return nil
	})
	f.bindDataDir(fs, d)
	f.bindServer(fs, d.Server)
	f.bindLog(fs, d.Log)
	f.bindCAS(fs, d.CAS)
	f.str(fs, "cas", "`grpc://HOST:PORT` of the CAS, for roles that use it without serving it (cas.remote)", d.CAS.Remote,
		func(c *Config, v string) { c.CAS.Remote = v })
	// One config file serves all nodes of a sharded CAS; each says who it is.
	f.str(fs, "cas-self", "this node's `grpc://HOST:PORT` among cas.shards (cas.self)", d.CAS.Self,
		func(c *Config, v string) { c.CAS.Self = v })
	f.bindActionCache(fs, d.ActionCache)
	f.str(fs, "action-cache", "`grpc://HOST:PORT` of the action cache, for a scheduler that does not serve it; empty means -cas (action_cache.remote)", d.ActionCache.Remote,
		func(c *Config, v string) { c.ActionCache.Remote = v })
	f.bindScheduler(fs, d.Scheduler)
	f.str(fs, "redis", "`HOST:PORT` or redis:// URL of the Redis server of the redis backends (redis.address)", d.Redis.Address,
		func(c *Config, v string) { c.Redis.Address = v })
	return f
}

// BindWorkerFlags registers the flags of `kiln worker`. Its metrics
// endpoint is off by default, so that a worker beside `kiln up` on one
// machine does not fight over the port.
func BindWorkerFlags(fs *flag.FlagSet) *Flags {
	d := Default()
	d.Server.MetricsListen = ""
	f := newFlags(fs, d, Config.ValidateWorker)
	f.str(fs, "scheduler", "`grpc://HOST:PORT` of the scheduler to poll for work; required (worker.scheduler)", d.Worker.Scheduler,
		func(c *Config, v string) { c.Worker.Scheduler = v })
	f.str(fs, "cas", "`grpc://HOST:PORT` of the CAS; empty means -scheduler (worker.cas)", d.Worker.CAS,
		func(c *Config, v string) { c.Worker.CAS = v })
	f.str(fs, "action-cache", "`grpc://HOST:PORT` of the action cache; empty means -cas (worker.action_cache)", d.Worker.ActionCache,
		func(c *Config, v string) { c.Worker.ActionCache = v })
	f.str(fs, "data-dir", "`directory` for the input file cache and action directories; empty means <data_dir>/worker (worker.data_dir)", d.Worker.DataDir,
		func(c *Config, v string) { c.Worker.DataDir = v })
	f.integer(fs, "concurrency", "actions run at once (worker.concurrency)", d.Worker.Concurrency,
		func(c *Config, v int) { c.Worker.Concurrency = v })
	f.bindWorkerRunning(fs, d.Worker)
	f.str(fs, "metrics-listen", "`host:port` for /metrics and /healthz; empty disables (server.metrics_listen)", d.Server.MetricsListen,
		func(c *Config, v string) { c.Server.MetricsListen = v })
	f.bindLog(fs, d.Log)
	return f
}

func (f *Flags) bindDataDir(fs *flag.FlagSet, d Config) {
	f.str(fs, "data-dir", "`directory` for the CAS, the action cache and kiln up's local workers (data_dir)", d.DataDir,
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

func (f *Flags) bindScheduler(fs *flag.FlagSet, d SchedulerConfig) {
	for _, dur := range []struct {
		name, usage string
		def         time.Duration
		field       func(*SchedulerConfig) *time.Duration
	}{
		{"default-timeout", "timeout of actions that set none (scheduler.default_timeout)", d.DefaultTimeout,
			func(s *SchedulerConfig) *time.Duration { return &s.DefaultTimeout }},
		{"max-timeout", "largest timeout an action may ask for (scheduler.max_timeout)", d.MaxTimeout,
			func(s *SchedulerConfig) *time.Duration { return &s.MaxTimeout }},
		{"lease-duration", "how long a worker holds an action without a heartbeat (scheduler.lease_duration)", d.LeaseDuration,
			func(s *SchedulerConfig) *time.Duration { return &s.LeaseDuration }},
		{"poll-timeout", "how long a worker's poll waits for work (scheduler.poll_timeout)", d.PollTimeout,
			func(s *SchedulerConfig) *time.Duration { return &s.PollTimeout }},
		{"completed-retention", "how long finished operations can be looked up (scheduler.completed_retention)", d.CompletedRetention,
			func(s *SchedulerConfig) *time.Duration { return &s.CompletedRetention }},
		{"no-worker-grace", "how long an action waits for a worker able to run it (scheduler.no_worker_grace)", d.NoWorkerGrace,
			func(s *SchedulerConfig) *time.Duration { return &s.NoWorkerGrace }},
		{"max-queue-age", "queued work older than this fails (scheduler.max_queue_age)", d.MaxQueueAge,
			func(s *SchedulerConfig) *time.Duration { return &s.MaxQueueAge }},
	} {
		f.duration(fs, dur.name, dur.usage, dur.def, func(c *Config, v time.Duration) { *dur.field(&c.Scheduler) = v })
	}
	f.integer(fs, "max-attempts", "how often an action is handed out before lost leases fail it (scheduler.max_attempts)", d.MaxAttempts,
		func(c *Config, v int) { c.Scheduler.MaxAttempts = v })
	f.str(fs, "scheduler-state", "where operations, queues and leases live: memory, or redis to share them with other replicas (scheduler.state)", d.State,
		func(c *Config, v string) { c.Scheduler.State = v })
}

// bindWorkerRunning binds what a worker runs with, shared by up's local
// workers and `kiln worker`.
func (f *Flags) bindWorkerRunning(fs *flag.FlagSet, d WorkerConfig) {
	f.size(fs, "file-cache-max-size", "`size` limit of the worker's input file cache (worker.file_cache_max_size)", d.FileCacheMaxSize,
		func(c *Config, v ByteSize) { c.Worker.FileCacheMaxSize = v })
	f.str(fs, "runner", "isolation of actions that ask for none: sandbox (Linux namespaces) or process (none) (worker.runner)", d.Runner,
		func(c *Config, v string) { c.Worker.Runner = v })
	fs.Func("platform", "a platform property `name=value` the worker offers besides OSFamily and ISA; repeat for more (worker.platform)", func(s string) error {
		p, err := ParsePlatformProperty(s)
		if err != nil {
			return err
		}
		replace := !f.platformSet
		f.platformSet = true
		f.overrides = append(f.overrides, func(c *Config) {
			if replace {
				c.Worker.Platform = nil
			}
			c.Worker.Platform = append(c.Worker.Platform, p)
		})
		return nil
	})
}
