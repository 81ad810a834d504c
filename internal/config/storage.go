package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Storage backends, as cas.backend, cas.tier.backend and
// action_cache.backend name them.
const (
	BackendDisk  = "disk"
	BackendGCS   = "gcs"
	BackendRedis = "redis"
	TierNone     = "none"
)

// Storage defaults.
const (
	// DefaultActionCacheTTL keeps a Redis entry a week after its last use.
	DefaultActionCacheTTL = 7 * 24 * time.Hour
	// DefaultRedisPrefix namespaces Kiln's keys in a shared Redis.
	DefaultRedisPrefix = "kiln:"
)

// GCSConfig names the bucket of the gcs CAS backend. Credentials are
// Google's Application Default Credentials (a workload identity, a service
// account key in GOOGLE_APPLICATION_CREDENTIALS, or gcloud's login).
type GCSConfig struct {
	// Bucket must exist; Kiln needs to create, read and update its
	// objects.
	Bucket string `yaml:"bucket"`
	// Prefix is put before every object name, so that one bucket can
	// hold several clusters.
	Prefix string `yaml:"prefix"`
	// Endpoint is an emulator's http://HOST:PORT, for tests and local
	// experiments; empty means Google Cloud Storage itself.
	Endpoint string `yaml:"endpoint"`
}

// TierConfig is the fast local store in front of a slow shared one.
type TierConfig struct {
	// Backend is none, or disk: a disk cache under data_dir in front of
	// the gcs backend.
	Backend string `yaml:"backend"`
	// MaxSize bounds the disk tier; least recently used blobs are evicted
	// from it (they stay in the bucket).
	MaxSize ByteSize `yaml:"max_size"`
}

// RedisConfig is the Redis server that the redis backends share.
type RedisConfig struct {
	// Address is HOST:PORT, or a redis:// or rediss:// URL (which may
	// carry a user, password and database number).
	Address string `yaml:"address"`
	// Prefix is put before every key.
	Prefix string `yaml:"prefix"`
}

// validateStorage checks the storage backends and the sections they read.
func (c Config) validateStorage() []error {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	cas := c.CAS
	switch cas.Backend {
	case BackendDisk:
		if cas.GCS != (GCSConfig{}) {
			fail("cas.gcs", "is set, but cas.backend is %q; set cas.backend: gcs to use it", cas.Backend)
		}
	case BackendGCS:
		if cas.GCS.Bucket == "" {
			fail("cas.gcs.bucket", "the gcs backend needs a bucket name")
		}
		if e := cas.GCS.Endpoint; e != "" {
			if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				fail("cas.gcs.endpoint", "%q is not an http://HOST:PORT URL", e)
			}
		}
	default:
		fail("cas.backend", "%q is not one of %s, %s", cas.Backend, BackendDisk, BackendGCS)
	}
	switch cas.Tier.Backend {
	case TierNone, "":
	case BackendDisk:
		if cas.Backend != BackendGCS {
			fail("cas.tier.backend", "a disk tier goes in front of the gcs backend, not %q", cas.Backend)
		}
		if cas.Tier.MaxSize <= 0 {
			fail("cas.tier.max_size", "must be positive, is %d", cas.Tier.MaxSize)
		}
	default:
		fail("cas.tier.backend", "%q is not one of %s, %s", cas.Tier.Backend, TierNone, BackendDisk)
	}
	errs = append(errs, cas.validateShards()...)

	switch c.ActionCache.Backend {
	case BackendDisk:
	case BackendRedis:
		if c.Redis.Address == "" {
			fail("redis.address", "action_cache.backend redis needs the address of the Redis server")
		}
	default:
		fail("action_cache.backend", "%q is not one of %s, %s", c.ActionCache.Backend, BackendDisk, BackendRedis)
	}
	if c.ActionCache.TTL < 0 {
		fail("action_cache.ttl", "must not be negative, is %s", c.ActionCache.TTL)
	}
	if a := c.Redis.Address; a != "" {
		if err := checkRedisAddress(a); err != nil {
			fail("redis.address", "%v", err)
		}
	}
	return errs
}

func (cas CASConfig) validateShards() []error {
	if len(cas.Shards) == 0 {
		if cas.Self != "" {
			return []error{fmt.Errorf("cas.self: is set, but cas.shards is empty")}
		}
		return nil
	}
	var errs []error
	seen := make(map[string]bool)
	for i, s := range cas.Shards {
		hostPort, err := ParseGRPCAddress(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("cas.shards[%d]: %w", i, err))
			continue
		}
		if seen[hostPort] {
			errs = append(errs, fmt.Errorf("cas.shards[%d]: %q is listed twice", i, s))
		}
		seen[hostPort] = true
	}
	self, err := ParseGRPCAddress(cas.Self)
	switch {
	case cas.Self == "":
		errs = append(errs, fmt.Errorf("cas.self: a sharded CAS node must say which entry of cas.shards it is"))
	case err != nil:
		errs = append(errs, fmt.Errorf("cas.self: %w", err))
	case !seen[self]:
		errs = append(errs, fmt.Errorf("cas.self: %q is not in cas.shards", cas.Self))
	}
	return errs
}

// ShardName is the name of a CAS node as all nodes know it: its address
// in the grpc://HOST:PORT form, however the config spelt it.
func ShardName(address string) (string, error) {
	hostPort, err := ParseGRPCAddress(address)
	if err != nil {
		return "", err
	}
	return "grpc://" + hostPort, nil
}

func checkRedisAddress(a string) error {
	if scheme, _, ok := strings.Cut(a, "://"); ok {
		if scheme != "redis" && scheme != "rediss" {
			return fmt.Errorf("%q: unknown scheme %q; use HOST:PORT or redis://HOST:PORT", a, scheme)
		}
		if u, err := url.Parse(a); err != nil || u.Host == "" {
			return fmt.Errorf("%q is not a redis://HOST:PORT URL", a)
		}
		return nil
	}
	if err := checkHostPort(a); err != nil {
		return err
	}
	return nil
}
