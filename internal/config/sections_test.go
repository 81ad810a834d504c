package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestLoadReadsRolesRemotesSchedulerAndWorker(t *testing.T) {
	path := writeFile(t, `
data_dir: /srv/kiln
roles: [scheduler]
cas:
  remote: grpc://cas.internal:8980
action_cache:
  remote: grpc://ac.internal:8980
scheduler:
  default_timeout: 5m
  max_timeout: 2h
  lease_duration: 10s
  poll_timeout: 20s
  max_attempts: 5
  completed_retention: 1h
  no_worker_grace: 2m
  max_queue_age: 12h
worker:
  concurrency: 3
  data_dir: /scratch/w
  file_cache_max_size: 2GiB
  platform:
    pool: gpu
    cores: 8
  scheduler: grpc://sched:8980
  cas: cas:8980
  action_cache: grpc://ac:8980
  runner: process
`)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.DataDir = "/srv/kiln"
	want.Roles = []Role{RoleScheduler}
	want.CAS.Remote = "grpc://cas.internal:8980"
	want.ActionCache.Remote = "grpc://ac.internal:8980"
	want.Scheduler = SchedulerConfig{
		State:          SchedulerStateMemory,
		DefaultTimeout: 5 * time.Minute, MaxTimeout: 2 * time.Hour, LeaseDuration: 10 * time.Second,
		PollTimeout: 20 * time.Second, MaxAttempts: 5, CompletedRetention: time.Hour,
		NoWorkerGrace: 2 * time.Minute, MaxQueueAge: 12 * time.Hour,
	}
	want.Worker = WorkerConfig{
		Concurrency: 3, DataDir: "/scratch/w", FileCacheMaxSize: 2 * GiB,
		Platform:  Platform{{"pool", "gpu"}, {"cores", "8"}},
		Scheduler: "grpc://sched:8980", CAS: "cas:8980", ActionCache: "grpc://ac:8980", Runner: "process",
		Sandbox: Default().Worker.Sandbox,
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("Load = %+v\nwant %+v", cfg, want)
	}
	if cfg.WorkerDir() != "/scratch/w" {
		t.Errorf("WorkerDir = %q", cfg.WorkerDir())
	}
}

func TestDefaultsOfTheNewSections(t *testing.T) {
	cfg := Default()
	if !reflect.DeepEqual(cfg.Roles, []Role{RoleCAS, RoleActionCache, RoleScheduler}) {
		t.Errorf("default roles = %v, want all three", cfg.Roles)
	}
	if cfg.Worker.Concurrency != runtime.NumCPU() {
		t.Errorf("default worker concurrency = %d, want NumCPU %d", cfg.Worker.Concurrency, runtime.NumCPU())
	}
	if want := filepath.Join(cfg.DataDir, "worker"); cfg.WorkerDir() != want {
		t.Errorf("default worker dir = %q, want %q", cfg.WorkerDir(), want)
	}
	if cfg.Worker.Runner != "sandbox" {
		t.Errorf("default runner = %q, want sandbox", cfg.Worker.Runner)
	}
}

func TestPlatformReadsAMappingOrAList(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want Platform
	}{
		{"worker:\n  platform: {pool: gpu, os: linux}\n", Platform{{"pool", "gpu"}, {"os", "linux"}}},
		{"worker:\n  platform: [\"pool=a\", \"pool=b\", \"flag=\", \"expr=x=y\"]\n", Platform{{"pool", "a"}, {"pool", "b"}, {"flag", ""}, {"expr", "x=y"}}},
		{"worker:\n  platform:\n", nil},
	} {
		cfg, err := Load(writeFile(t, tc.yaml))
		if err != nil {
			t.Errorf("Load(%q): %v", tc.yaml, err)
			continue
		}
		if !reflect.DeepEqual(cfg.Worker.Platform, tc.want) {
			t.Errorf("Load(%q) platform = %v, want %v", tc.yaml, cfg.Worker.Platform, tc.want)
		}
	}
	for _, bad := range []string{
		"worker:\n  platform: gpu\n",
		"worker:\n  platform: [\"nameonly\"]\n",
		"worker:\n  platform: [\"=value\"]\n",
		"worker:\n  platform: {pool: [a, b]}\n",
		"worker:\n  platform: [{pool: a}]\n",
	} {
		if _, err := Load(writeFile(t, bad)); err == nil || !strings.Contains(err.Error(), "worker.platform") {
			t.Errorf("Load(%q) error = %v, want one naming worker.platform", bad, err)
		}
	}
}

func TestValidateNamesBadRolesSchedulerAndWorkerFields(t *testing.T) {
	cfg := Default()
	cfg.Roles = []Role{"cas", "frontend", "cas"}
	cfg.CAS.Remote = "grpcs://cas:443"
	cfg.Worker.Scheduler = "http://sched:80"
	cfg.Scheduler.LeaseDuration = 0
	cfg.Scheduler.DefaultTimeout = 2 * time.Hour // over max_timeout
	cfg.Scheduler.MaxAttempts = 0
	cfg.Worker.Concurrency = -1
	cfg.Worker.FileCacheMaxSize = 0
	cfg.Worker.Runner = "microvm"
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken config")
	}
	for _, want := range []string{`roles: unknown role "frontend"`, `roles: "cas" is listed twice`, "cas.remote:", "TLS",
		"worker.scheduler:", "scheduler.lease_duration:", "scheduler.default_timeout:", "scheduler.max_attempts:",
		"worker.concurrency:", "worker.file_cache_max_size:", "worker.runner:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	cfg = Default()
	cfg.Roles = nil
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "roles:") {
		t.Errorf("no roles: error = %v, want one naming roles", err)
	}
}

func TestParseGRPCAddress(t *testing.T) {
	for in, want := range map[string]string{
		"grpc://127.0.0.1:8980":  "127.0.0.1:8980",
		"grpc://sched.local:80/": "sched.local:80",
		"host:1":                 "host:1",
		"grpc://[::1]:8980":      "[::1]:8980",
	} {
		if got, err := ParseGRPCAddress(in); err != nil || got != want {
			t.Errorf("ParseGRPCAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "grpc://", "grpc://host", "grpc://:8980", "grpcs://host:443", "http://host:80",
		"grpc://host:80/instance", "grpc://host:port"} {
		if got, err := ParseGRPCAddress(in); err == nil {
			t.Errorf("ParseGRPCAddress(%q) = %q, want an error", in, got)
		}
	}
}

func parseWith(t *testing.T, bind func(*flag.FlagSet) *Flags, args ...string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := bind(fs)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	return f.Config()
}

func TestUpFlagsSetTheSchedulerAndLocalWorkers(t *testing.T) {
	cfg, err := parseWith(t, BindUpFlags, "--workers=0", "--worker-data-dir=/w", "--max-timeout=3h",
		"--default-timeout=1m", "--lease-duration=5s", "--poll-timeout=7s", "--max-attempts=2",
		"--completed-retention=1m", "--no-worker-grace=9s", "--max-queue-age=1h",
		"--file-cache-max-size=1GiB", "--platform=pool=x")
	if err != nil {
		t.Fatal(err)
	}
	wantSched := SchedulerConfig{State: SchedulerStateMemory, DefaultTimeout: time.Minute, MaxTimeout: 3 * time.Hour, LeaseDuration: 5 * time.Second,
		PollTimeout: 7 * time.Second, MaxAttempts: 2, CompletedRetention: time.Minute, NoWorkerGrace: 9 * time.Second, MaxQueueAge: time.Hour}
	if cfg.Scheduler != wantSched {
		t.Errorf("scheduler = %+v\nwant %+v", cfg.Scheduler, wantSched)
	}
	if cfg.Worker.Concurrency != 0 || cfg.WorkerDir() != "/w" || cfg.Worker.FileCacheMaxSize != GiB ||
		!reflect.DeepEqual(cfg.Worker.Platform, Platform{{"pool", "x"}}) {
		t.Errorf("worker = %+v", cfg.Worker)
	}
	if _, err := parseWith(t, BindUpFlags, "--workers=-1"); err == nil || !strings.Contains(err.Error(), "worker.concurrency") {
		t.Errorf("--workers=-1: error %v, want one naming worker.concurrency", err)
	}
	if _, err := parseWith(t, BindUpFlags, "--workers=many"); err == nil {
		t.Error("--workers=many accepted")
	}
}

func TestServeFlagsChooseRolesAndNeedTheRemotesOfTheOthers(t *testing.T) {
	cfg, err := parseWith(t, BindServeFlags)
	if err != nil || !reflect.DeepEqual(cfg.Roles, AllRoles()) {
		t.Errorf("serve without flags: roles %v, %v; want all", cfg.Roles, err)
	}
	cfg, err = parseWith(t, BindServeFlags, "--roles=scheduler", "--cas=grpc://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Serves(RoleScheduler) || cfg.Serves(RoleCAS) || cfg.RemoteActionCache() != "grpc://127.0.0.1:1" {
		t.Errorf("roles %v, remote action cache %q", cfg.Roles, cfg.RemoteActionCache())
	}
	if _, err := parseWith(t, BindServeFlags, "--roles=cas, actioncache"); err != nil {
		t.Errorf("--roles=cas, actioncache: %v", err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--roles=scheduler"}, "cas.remote"},
		{[]string{"--roles=actioncache"}, "cas.remote"},
		{[]string{"--roles=cas,scheduler"}, "action_cache.remote"},
		{[]string{"--roles=cas,frontend"}, `unknown role "frontend"`},
		{[]string{"--roles=scheduler", "--cas=grpcs://x:1"}, "cas.remote"},
	} {
		if _, err := parseWith(t, BindServeFlags, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one naming %s", tc.args, err, tc.want)
		}
	}
}

func TestWorkerFlags(t *testing.T) {
	if _, err := parseWith(t, BindWorkerFlags); err == nil || !strings.Contains(err.Error(), "worker.scheduler") {
		t.Errorf("worker without --scheduler: error %v, want one naming worker.scheduler", err)
	}
	if _, err := parseWith(t, BindWorkerFlags, "--scheduler=grpc://s:1", "--concurrency=0"); err == nil ||
		!strings.Contains(err.Error(), "worker.concurrency") {
		t.Errorf("--concurrency=0: error %v, want one naming worker.concurrency", err)
	}
	cfg, err := parseWith(t, BindWorkerFlags, "--scheduler=grpc://s:1", "--data-dir=/w", "--concurrency=4")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WorkerCAS() != "grpc://s:1" || cfg.WorkerActionCache() != "grpc://s:1" {
		t.Errorf("CAS %q, action cache %q; want both the scheduler's", cfg.WorkerCAS(), cfg.WorkerActionCache())
	}
	if cfg.WorkerDir() != "/w" || cfg.Worker.Concurrency != 4 {
		t.Errorf("worker dir %q, concurrency %d", cfg.WorkerDir(), cfg.Worker.Concurrency)
	}
	if cfg.Server.MetricsListen != "" {
		t.Errorf("a worker serves metrics on %q by default; it would clash with kiln up", cfg.Server.MetricsListen)
	}
	cfg, err = parseWith(t, BindWorkerFlags, "--scheduler=grpc://s:1", "--cas=grpc://c:2")
	if err != nil || cfg.WorkerCAS() != "grpc://c:2" || cfg.WorkerActionCache() != "grpc://c:2" {
		t.Errorf("with --cas: CAS %q, action cache %q, %v; want both c:2", cfg.WorkerCAS(), cfg.WorkerActionCache(), err)
	}
}

func TestPlatformFlagsReplaceTheFileListThenAdd(t *testing.T) {
	path := writeFile(t, "worker:\n  scheduler: grpc://s:1\n  platform: {pool: file}\n")
	cfg, err := parseWith(t, BindWorkerFlags, "--config="+path)
	if err != nil || !reflect.DeepEqual(cfg.Worker.Platform, Platform{{"pool", "file"}}) {
		t.Errorf("file only: platform %v, %v", cfg.Worker.Platform, err)
	}
	cfg, err = parseWith(t, BindWorkerFlags, "--platform=pool=a", "--config="+path, "--platform=gpu=")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Platform{{"pool", "a"}, {"gpu", ""}}); !reflect.DeepEqual(cfg.Worker.Platform, want) {
		t.Errorf("platform = %v, want %v", cfg.Worker.Platform, want)
	}
	if _, err := parseWith(t, BindWorkerFlags, "--scheduler=grpc://s:1", "--platform=novalue"); err == nil {
		t.Error("--platform=novalue accepted")
	}
}

// The README's config example is what users copy: it must load.
func TestREADMEConfigExampleLoads(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Skipf("no README: %v", err)
	}
	_, rest, ok := strings.Cut(string(readme), "```yaml\n# kiln.yaml")
	if !ok {
		t.Fatal("the README has no kiln.yaml example")
	}
	example, _, _ := strings.Cut(rest, "```")
	cfg, err := Load(writeFile(t, "# kiln.yaml"+example))
	if err != nil {
		t.Fatalf("the README's config example does not load: %v", err)
	}
	if cfg.Worker.Scheduler == "" || len(cfg.Worker.Platform) == 0 {
		t.Errorf("the example lost its worker section: %+v", cfg.Worker)
	}
}
