package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// maxGRPCMessage is the largest message gRPC can carry (its sizes are int32);
// a batch must fit in one message with some room for framing.
const maxGRPCMessage = 1<<31 - 1

// Validate reports every problem of c, each naming the field in its YAML
// form (e.g. "cas.max_size"), joined into one error.
func (c Config) Validate() error {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}

	if c.DataDir == "" {
		fail("data_dir", "must not be empty")
	}
	if err := checkHostPort(c.Server.Listen); err != nil {
		fail("server.listen", "%v", err)
	}
	if c.Server.MetricsListen != "" {
		if err := checkHostPort(c.Server.MetricsListen); err != nil {
			fail("server.metrics_listen", "%v", err)
		}
	}
	if c.Server.ShutdownGrace < 0 {
		fail("server.shutdown_grace", "must not be negative, is %s", c.Server.ShutdownGrace)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		fail("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		fail("log.format", "%q is not one of text, json", c.Log.Format)
	}
	if c.CAS.MaxSize <= 0 {
		fail("cas.max_size", "must be positive, is %d", c.CAS.MaxSize)
	}
	switch {
	case c.CAS.MaxBatchTotalSize <= 0:
		fail("cas.max_batch_total_size", "must be positive, is %d", c.CAS.MaxBatchTotalSize)
	case c.CAS.MaxBatchTotalSize > maxGRPCMessage/2:
		fail("cas.max_batch_total_size", "%s is more than one gRPC message can carry", c.CAS.MaxBatchTotalSize)
	}
	if c.ActionCache.MaxSize <= 0 {
		fail("action_cache.max_size", "must be positive, is %d", c.ActionCache.MaxSize)
	}
	errs = append(errs, c.validateRoles()...)
	errs = append(errs, c.validateStorage()...)
	errs = append(errs, c.validateScheduler()...)
	errs = append(errs, c.validateWorker()...)
	for _, a := range []struct{ field, value string }{
		{"cas.remote", c.CAS.Remote},
		{"action_cache.remote", c.ActionCache.Remote},
		{"worker.scheduler", c.Worker.Scheduler},
		{"worker.cas", c.Worker.CAS},
		{"worker.action_cache", c.Worker.ActionCache},
	} {
		if a.value == "" {
			continue
		}
		if _, err := ParseGRPCAddress(a.value); err != nil {
			fail(a.field, "%v", err)
		}
	}
	return errors.Join(errs...)
}

func (c Config) validateRoles() []error {
	if len(c.Roles) == 0 {
		return []error{errors.New("roles: must name at least one role")}
	}
	var errs []error
	seen := make(map[Role]bool)
	for _, r := range c.Roles {
		if err := r.check(); err != nil {
			errs = append(errs, fmt.Errorf("roles: %w", err))
		}
		if seen[r] {
			errs = append(errs, fmt.Errorf("roles: %q is listed twice", r))
		}
		seen[r] = true
	}
	return errs
}

func (c Config) validateScheduler() []error {
	s := c.Scheduler
	errs := s.validateState(c.Redis)
	for _, d := range []struct {
		field string
		v     time.Duration
	}{
		{"default_timeout", s.DefaultTimeout}, {"max_timeout", s.MaxTimeout},
		{"lease_duration", s.LeaseDuration}, {"poll_timeout", s.PollTimeout},
		{"completed_retention", s.CompletedRetention}, {"no_worker_grace", s.NoWorkerGrace},
		{"max_queue_age", s.MaxQueueAge},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("scheduler.%s: must be positive, is %s", d.field, d.v))
		}
	}
	if s.DefaultTimeout > s.MaxTimeout {
		errs = append(errs, fmt.Errorf("scheduler.default_timeout: %s is more than scheduler.max_timeout %s", s.DefaultTimeout, s.MaxTimeout))
	}
	if s.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("scheduler.max_attempts: must be at least 1, is %d", s.MaxAttempts))
	}
	return errs
}

func (c Config) validateWorker() []error {
	var errs []error
	w := c.Worker
	if w.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("worker.concurrency: must not be negative, is %d", w.Concurrency))
	}
	if w.FileCacheMaxSize <= 0 {
		errs = append(errs, fmt.Errorf("worker.file_cache_max_size: must be positive, is %d", w.FileCacheMaxSize))
	}
	errs = append(errs, w.validateRunner()...)
	for i, p := range w.Platform {
		if p.Name == "" {
			errs = append(errs, fmt.Errorf("worker.platform: property %d (%s) has an empty name", i, p))
		}
	}
	return errs
}

// ValidateServe reports what `kiln serve` needs beyond Validate: a role
// that stands on the CAS or the action cache without serving it needs the
// remote endpoint of it.
func (c Config) ValidateServe() error {
	var errs []error
	needsCAS := c.Serves(RoleActionCache) || c.Serves(RoleScheduler)
	if !c.Serves(RoleCAS) && needsCAS && c.CAS.Remote == "" {
		errs = append(errs, fmt.Errorf("cas.remote: roles %s need a CAS; serve the cas role too, or give its grpc://HOST:PORT (--cas)", c.RolesString()))
	}
	if c.Serves(RoleScheduler) && !c.Serves(RoleActionCache) && c.RemoteActionCache() == "" {
		errs = append(errs, errors.New("action_cache.remote: the scheduler role needs an action cache; serve the actioncache role too, or give its grpc://HOST:PORT (--action-cache)"))
	}
	return errors.Join(errs...)
}

// ValidateWorker reports what `kiln worker` needs beyond Validate.
func (c Config) ValidateWorker() error {
	var errs []error
	if c.Worker.Scheduler == "" {
		errs = append(errs, errors.New("worker.scheduler: a worker needs the grpc://HOST:PORT of its scheduler (--scheduler)"))
	}
	if c.Worker.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("worker.concurrency: a worker must run at least 1 action at once, is %d", c.Worker.Concurrency))
	}
	return errors.Join(errs...)
}

// checkHostPort accepts "host:port" with a numeric port; an empty host
// means every interface, as net.Listen has it.
func checkHostPort(addr string) error {
	if addr == "" {
		return errors.New("must not be empty")
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has no valid port number", addr)
	}
	return nil
}
