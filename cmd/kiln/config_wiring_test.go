package main

import (
	"strings"
	"testing"

	"github.com/kilnbuild/kiln/internal/config"
	"github.com/kilnbuild/kiln/scheduler"
	"github.com/kilnbuild/kiln/worker"
)

// config spells out the scheduler's defaults for -help and the README;
// they must stay the scheduler's own.
func TestConfigSchedulerDefaultsAreTheSchedulers(t *testing.T) {
	d := config.Default().Scheduler
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"default_timeout", d.DefaultTimeout, scheduler.DefaultTimeout},
		{"max_timeout", d.MaxTimeout, scheduler.DefaultMaxTimeout},
		{"lease_duration", d.LeaseDuration, scheduler.DefaultLeaseDuration},
		{"poll_timeout", d.PollTimeout, scheduler.DefaultPollTimeout},
		{"max_attempts", d.MaxAttempts, scheduler.DefaultMaxAttempts},
		{"completed_retention", d.CompletedRetention, scheduler.DefaultCompletedRetention},
		{"no_worker_grace", d.NoWorkerGrace, scheduler.DefaultNoWorkerGrace},
		{"max_queue_age", d.MaxQueueAge, scheduler.DefaultMaxQueueAge},
	} {
		if c.got != c.want {
			t.Errorf("config default scheduler.%s = %v, the scheduler's is %v", c.name, c.got, c.want)
		}
	}
}

func TestConfigPlatformAddsToTheDetectedOne(t *testing.T) {
	detected := worker.DefaultPlatform()
	var isa string
	for _, p := range detected {
		if p.GetName() == "ISA" {
			isa = p.GetValue()
		}
	}
	got := describePlatform(workerPlatform(config.Platform{
		{Name: "pool", Value: "b"}, {Name: "OSFamily", Value: "custom"}, {Name: "pool", Value: "a"}, {Name: "pool", Value: "a"},
	}, []string{"sandbox", "process"}))
	// Sorted by name then value, the detected OSFamily replaced, the
	// duplicate dropped.
	if want := "ISA=" + isa + ", OSFamily=custom, isolation=process, isolation=sandbox, pool=a, pool=b"; got != want {
		t.Errorf("platform = %s, want %s", got, want)
	}
	if got := workerPlatform(nil, nil); len(got) != len(detected) {
		t.Errorf("without extras the platform is %v, want the detected %v", got, detected)
	}
}

func TestConfigMistakesOfServeAndWorkerAreUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"worker"}, "worker.scheduler"},
		{[]string{"worker", "--scheduler=grpcs://x:1"}, "worker.scheduler"},
		{[]string{"worker", "--scheduler=grpc://x:1", "--concurrency=0"}, "worker.concurrency"},
		{[]string{"worker", "--scheduler=grpc://x:1", "--runner=microvm"}, "worker.runner"},
		{[]string{"serve", "--roles=frontend"}, "frontend"},
		{[]string{"serve", "--roles=scheduler"}, "cas.remote"},
		{[]string{"serve", "--roles=cas,scheduler"}, "action_cache.remote"},
		{[]string{"up", "--workers=-2"}, "worker.concurrency"},
	} {
		_, _, err := runCapture(tc.args...)
		if !isUsageError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("kiln %q: error %v, want a usage error naming %s", tc.args, err, tc.want)
		}
	}
}

func TestConfigHelpOfServeAndWorkerShowsTheirFlags(t *testing.T) {
	for cmd, flags := range map[string][]string{
		"serve":  {"-roles", "-cas", "-action-cache", "-lease-duration", "-max-timeout"},
		"worker": {"-scheduler", "-cas", "-concurrency", "-data-dir", "-platform", "-file-cache-max-size"},
		"up":     {"-workers", "-platform", "-max-queue-age"},
	} {
		out, _, err := runCapture("help", cmd)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range flags {
			if !strings.Contains(out, "  "+f+" ") && !strings.Contains(out, "  "+f+"\n") {
				t.Errorf("help %s does not list %s:\n%s", cmd, f, out)
			}
		}
	}
}
