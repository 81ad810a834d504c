package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadReadsTheStorageBackends(t *testing.T) {
	cfg, err := Load(writeFile(t, `
roles: [cas]
cas:
  backend: gcs
  gcs:
    bucket: kiln-cas
    prefix: prod
    endpoint: http://127.0.0.1:4443
  tier:
    backend: disk
    max_size: 200GiB
  shards: [grpc://cas-0:8980, "cas-1:8980", grpc://cas-2:8980/]
  self: grpc://cas-1:8980
action_cache:
  backend: redis
  ttl: 72h
redis:
  address: redis://redis:6379/1
  prefix: "farm1:"
`))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.CAS
	if c.Backend != BackendGCS || c.GCS != (GCSConfig{Bucket: "kiln-cas", Prefix: "prod", Endpoint: "http://127.0.0.1:4443"}) {
		t.Errorf("cas backend %q, gcs %+v", c.Backend, c.GCS)
	}
	if c.Tier != (TierConfig{Backend: BackendDisk, MaxSize: 200 * GiB}) {
		t.Errorf("cas.tier = %+v", c.Tier)
	}
	if !slices.Equal(c.Shards, []string{"grpc://cas-0:8980", "cas-1:8980", "grpc://cas-2:8980/"}) || c.Self != "grpc://cas-1:8980" {
		t.Errorf("cas.shards = %q, cas.self = %q", c.Shards, c.Self)
	}
	if cfg.ActionCache.Backend != BackendRedis || cfg.ActionCache.TTL != 72*time.Hour {
		t.Errorf("action_cache backend %q ttl %v", cfg.ActionCache.Backend, cfg.ActionCache.TTL)
	}
	if cfg.Redis != (RedisConfig{Address: "redis://redis:6379/1", Prefix: "farm1:"}) {
		t.Errorf("redis = %+v", cfg.Redis)
	}
}

func TestDefaultStorageIsLocalDisk(t *testing.T) {
	d := Default()
	if d.CAS.Backend != BackendDisk || d.ActionCache.Backend != BackendDisk || d.CAS.Tier.Backend != TierNone || len(d.CAS.Shards) != 0 {
		t.Errorf("default storage: cas %q tier %q shards %q, action cache %q; want local disk only",
			d.CAS.Backend, d.CAS.Tier.Backend, d.CAS.Shards, d.ActionCache.Backend)
	}
}

func TestValidateNamesBadStorageFields(t *testing.T) {
	for _, tc := range []struct {
		name  string
		apply func(*Config)
		want  string
	}{
		{"unknown cas backend", func(c *Config) { c.CAS.Backend = "s3" }, "cas.backend"},
		{"gcs without bucket", func(c *Config) { c.CAS.Backend = BackendGCS }, "cas.gcs.bucket"},
		{"gcs settings on disk", func(c *Config) { c.CAS.GCS.Bucket = "b" }, "cas.gcs"},
		{"emulator endpoint not a URL", func(c *Config) {
			c.CAS.Backend, c.CAS.GCS = BackendGCS, GCSConfig{Bucket: "b", Endpoint: "localhost:4443"}
		}, "cas.gcs.endpoint"},
		{"disk tier over disk", func(c *Config) { c.CAS.Tier.Backend = BackendDisk }, "cas.tier.backend"},
		{"unknown tier", func(c *Config) { c.CAS.Tier.Backend = "ram" }, "cas.tier.backend"},
		{"tier without size", func(c *Config) {
			c.CAS.Backend, c.CAS.GCS.Bucket, c.CAS.Tier = BackendGCS, "b", TierConfig{Backend: BackendDisk}
		}, "cas.tier.max_size"},
		{"shards without self", func(c *Config) { c.CAS.Shards = []string{"grpc://a:1", "grpc://b:1"} }, "cas.self"},
		{"self not a shard", func(c *Config) {
			c.CAS.Shards, c.CAS.Self = []string{"grpc://a:1", "grpc://b:1"}, "grpc://c:1"
		}, "is not in cas.shards"},
		{"shard listed twice", func(c *Config) {
			c.CAS.Shards, c.CAS.Self = []string{"grpc://a:1", "a:1"}, "a:1"
		}, "listed twice"},
		{"shard not an address", func(c *Config) {
			c.CAS.Shards, c.CAS.Self = []string{"grpc://a:1", "http://b"}, "a:1"
		}, "cas.shards[1]"},
		{"self without shards", func(c *Config) { c.CAS.Self = "grpc://a:1" }, "cas.self"},
		{"unknown action cache backend", func(c *Config) { c.ActionCache.Backend = "gcs" }, "action_cache.backend"},
		{"redis without address", func(c *Config) { c.ActionCache.Backend = BackendRedis }, "redis.address"},
		{"redis address with other scheme", func(c *Config) { c.Redis.Address = "http://r:6379" }, "redis.address"},
		{"redis address without port", func(c *Config) { c.Redis.Address = "redis-host" }, "redis.address"},
		{"negative ttl", func(c *Config) { c.ActionCache.TTL = -time.Second }, "action_cache.ttl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.apply(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestShardNameIsTheSameHoweverSpelt(t *testing.T) {
	for _, s := range []string{"cas-1:8980", "grpc://cas-1:8980", "grpc://cas-1:8980/"} {
		if got, err := ShardName(s); err != nil || got != "grpc://cas-1:8980" {
			t.Errorf("ShardName(%q) = %q, %v", s, got, err)
		}
	}
}

// The farm's example configs are what operators copy: each must load, and
// `kiln serve` must accept the ones for serving roles.
func TestDeployConfigsLoad(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "..", "deploy", "config", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Skip("no deploy/config/*.yaml")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			cfg, err := Load(p)
			if err != nil {
				t.Fatal(err)
			}
			check := cfg.ValidateServe
			if strings.HasPrefix(filepath.Base(p), "worker") {
				check = cfg.ValidateWorker
			}
			if err := check(); err != nil {
				t.Error(err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join("..", "..", "deploy", "README.md")); err != nil {
		t.Errorf("deploy/ has configs but no README: %v", err)
	}
}

func TestServeFlagSaysWhichShardThisNodeIs(t *testing.T) {
	path := writeFile(t, "roles: [cas]\ncas:\n  shards: [grpc://cas-0:8980, grpc://cas-1:8980]\n")
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := BindServeFlags(fs)
	if err := fs.Parse([]string{"--config=" + path, "--cas-self=grpc://cas-1:8980"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := f.Config()
	if err != nil || cfg.CAS.Self != "grpc://cas-1:8980" {
		t.Errorf("cas.self = %q, %v; want the flag's", cfg.CAS.Self, err)
	}
}
