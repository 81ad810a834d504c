package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
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
