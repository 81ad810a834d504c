package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	cfg := Default()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if cfg.Server.Listen != "127.0.0.1:8980" {
		t.Errorf("default listen = %q, want 127.0.0.1:8980", cfg.Server.Listen)
	}
	if cfg.Server.MetricsListen != "127.0.0.1:9090" {
		t.Errorf("default metrics listen = %q, want 127.0.0.1:9090", cfg.Server.MetricsListen)
	}
	if !cfg.ActionCache.UpdateEnabled {
		t.Error("action cache updates are off by default; Bazel's --remote_cache needs them")
	}
	if filepath.Base(cfg.DataDir) != "kiln" {
		t.Errorf("default data dir %q does not end in kiln", cfg.DataDir)
	}
	if cfg.CASDir() == cfg.ActionCacheDir() {
		t.Error("CAS and action cache share a directory")
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kiln.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadOverlaysDefaults(t *testing.T) {
	path := writeFile(t, `
data_dir: /srv/kiln
server:
  listen: 0.0.0.0:9000
  metrics_listen: ""
  shutdown_grace: 3s
cas:
  max_size: 2GiB
  max_batch_total_size: 1048576
action_cache:
  update_enabled: false
  max_size: 100MB
`)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.DataDir = "/srv/kiln"
	want.Server = ServerConfig{Listen: "0.0.0.0:9000", MetricsListen: "", ShutdownGrace: 3 * time.Second}
	want.CAS.MaxSize, want.CAS.MaxBatchTotalSize = 2*GiB, MiB
	want.ActionCache.UpdateEnabled, want.ActionCache.MaxSize = false, 100_000_000
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("Load = %+v\nwant %+v", cfg, want)
	}
}

func TestLoadEmptyFileIsDefaults(t *testing.T) {
	cfg, err := Load(writeFile(t, "# nothing here\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("Load(empty) = %+v, want defaults", cfg)
	}
}

func TestLoadRejectsUnknownKeysByName(t *testing.T) {
	for _, tc := range []struct{ yaml, key string }{
		{"listen: 1.2.3.4:5\n", `"listen"`},
		{"server:\n  listne: 127.0.0.1:1\n", `"server.listne"`},
		{"cas:\n  max_size: 1GiB\n  evict: lru\n", `"cas.evict"`},
	} {
		_, err := Load(writeFile(t, tc.yaml))
		if err == nil {
			t.Errorf("Load(%q) succeeded, want an unknown key error", tc.yaml)
			continue
		}
		if !strings.Contains(err.Error(), "unknown key "+tc.key) {
			t.Errorf("Load(%q) error %q does not name key %s", tc.yaml, err, tc.key)
		}
	}
}

func TestLoadNamesFieldOfBadValue(t *testing.T) {
	for _, tc := range []struct{ yaml, field string }{
		{"cas:\n  max_size: lots\n", "cas.max_size"},
		{"server:\n  shutdown_grace: soon\n", "server.shutdown_grace"},
		{"action_cache:\n  update_enabled: maybe\n", "action_cache.update_enabled"},
		{"server: 127.0.0.1:1\n", "server"},
		{"log:\n  level: loud\n", "log.level"},
		{"cas:\n  max_size: 0\n", "cas.max_size"},
	} {
		_, err := Load(writeFile(t, tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("Load(%q) error = %v, want one naming %s", tc.yaml, err, tc.field)
		}
	}
}

func TestValidateNamesEveryBadField(t *testing.T) {
	cfg := Default()
	cfg.DataDir = ""
	cfg.Server.Listen = "nope"
	cfg.Server.MetricsListen = "127.0.0.1:http"
	cfg.Server.ShutdownGrace = -time.Second
	cfg.Log.Format = "xml"
	cfg.CAS.MaxBatchTotalSize = 0
	cfg.ActionCache.MaxSize = -1
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken config")
	}
	for _, field := range []string{"data_dir", "server.listen", "server.metrics_listen",
		"server.shutdown_grace", "log.format", "cas.max_batch_total_size", "action_cache.max_size"} {
		if !strings.Contains(err.Error(), field+":") {
			t.Errorf("error %q does not name %s", err, field)
		}
	}
}

func TestValidateAllowsDisabledMetrics(t *testing.T) {
	cfg := Default()
	cfg.Server.MetricsListen = ""
	if err := cfg.Validate(); err != nil {
		t.Errorf("empty metrics_listen rejected: %v", err)
	}
}

func parseFlags(t *testing.T, args ...string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := BindUpFlags(fs)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	return f.Config()
}

func TestFlagsOverrideDefaults(t *testing.T) {
	cfg, err := parseFlags(t, "--listen=127.0.0.1:0", "--metrics-listen=", "--data-dir=/tmp/k",
		"--cas-max-size=3GiB", "--max-batch-size=2MiB", "--log-level=debug", "--log-format=json",
		"--ac-update-enabled=false", "--ac-max-size=64MiB", "--shutdown-grace=1s")
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.DataDir = "/tmp/k"
	want.Server = ServerConfig{Listen: "127.0.0.1:0", MetricsListen: "", ShutdownGrace: time.Second}
	want.Log = LogConfig{Level: "debug", Format: "json"}
	want.CAS.MaxSize, want.CAS.MaxBatchTotalSize = 3*GiB, 2*MiB
	want.ActionCache.UpdateEnabled, want.ActionCache.MaxSize = false, 64*MiB
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("config = %+v\nwant %+v", cfg, want)
	}
}

func TestNoFlagsMeansDefaults(t *testing.T) {
	cfg, err := parseFlags(t)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("config = %+v, want defaults", cfg)
	}
}

func TestFlagsOverrideFileWhateverTheOrder(t *testing.T) {
	path := writeFile(t, "server:\n  listen: 127.0.0.1:1111\ncas:\n  max_size: 1GiB\n")
	// The flag comes before -config and still wins.
	cfg, err := parseFlags(t, "--listen=127.0.0.1:2222", "--config="+path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen != "127.0.0.1:2222" {
		t.Errorf("listen = %q, want the flag's 127.0.0.1:2222", cfg.Server.Listen)
	}
	if cfg.CAS.MaxSize != GiB {
		t.Errorf("cas max size = %s, want the file's 1GiB", cfg.CAS.MaxSize)
	}
}

func TestFlagsCanFixAnInvalidFile(t *testing.T) {
	path := writeFile(t, "log:\n  level: loud\n")
	cfg, err := parseFlags(t, "--config="+path, "--log-level=warn")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Log.Level != "warn" {
		t.Errorf("log level = %q, want warn", cfg.Log.Level)
	}
}

func TestFlagsRejectBadValues(t *testing.T) {
	for _, args := range [][]string{
		{"--cas-max-size=big"},
		{"--shutdown-grace=soon"},
		{"--ac-update-enabled=perhaps"},
		{"--no-such-flag"},
	} {
		if _, err := parseFlags(t, args...); err == nil {
			t.Errorf("flags %q accepted", args)
		}
	}
	if _, err := parseFlags(t, "--log-format=xml"); err == nil || !strings.Contains(err.Error(), "log.format") {
		t.Errorf("--log-format=xml error = %v, want one naming log.format", err)
	}
	if _, err := parseFlags(t, "--config=/does/not/exist.yaml"); err == nil {
		t.Error("a missing config file was accepted")
	}
}
