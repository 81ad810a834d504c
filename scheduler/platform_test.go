package scheduler

import (
	"slices"
	"strings"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/codes"
)

func TestPlatformKeyRoundTrip(t *testing.T) {
	for _, p := range []Platform{
		{},
		{{"OSFamily", "linux"}},
		{{"a&b", "c=d"}, {"a&b", "e%f"}, {"empty", ""}, {"x y", "ü"}},
	} {
		key := PlatformKey(p)
		got, err := ParsePlatformKey(key)
		if err != nil || !slices.Equal(got, p) {
			t.Errorf("ParsePlatformKey(PlatformKey(%v)) = %v, %v (key %q)", p, got, err, key)
		}
	}
	if PlatformKey(Platform{{"a", "b=c"}}) == PlatformKey(Platform{{"a=b", "c"}}) {
		t.Errorf("distinct platforms share a key")
	}
}

func TestOfferMatching(t *testing.T) {
	offers := newOfferSet([]Property{{"os", "linux"}, {"cpu", "a"}, {"cpu", "b"}, {"memory", AnyValue}})
	for _, tc := range []struct {
		p    Platform
		want bool
	}{
		{Platform{}, true},
		{Platform{{"os", "linux"}}, true},
		{Platform{{"cpu", "b"}, {"os", "linux"}}, true},
		{Platform{{"cpu", "a"}, {"cpu", "b"}}, true},
		{Platform{{"os", "windows"}}, false},
		{Platform{{"gpu", "yes"}}, false},
		// A property offered with AnyValue takes every value.
		{Platform{{"memory", "512MiB"}, {"os", "linux"}}, true},
		{Platform{{"memory", "1GiB"}}, true},
	} {
		if got := offers.satisfies(tc.p); got != tc.want {
			t.Errorf("satisfies(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestExplainUnmatched(t *testing.T) {
	workers := []Worker{
		{ID: "a", Offers: []Property{{"os", "linux"}, {"pool", "x"}}},
		{ID: "b", Offers: []Property{{"os", "mac"}}},
	}
	for _, tc := range []struct {
		p       Platform
		workers []Worker
		want    []string
	}{
		{Platform{{"gpu", "yes"}}, workers, []string{"no worker knows the properties gpu"}},
		{Platform{{"os", "windows"}}, workers, []string{"no worker offers os=windows"}},
		{Platform{{"os", "mac"}, {"pool", "x"}}, workers, []string{"no single worker offers them all"}},
		{Platform{{"os", "linux"}}, nil, []string{"no worker has polled"}},
	} {
		got := explainUnmatched(tc.workers, tc.p)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("explainUnmatched(%v) = %q, want it to say %q", tc.p, got, w)
			}
		}
	}
}

func TestItem38_ActionPlatformPreferredOverCommand(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	linux, windows := e.worker("linux", offer("os", "linux")), e.worker("windows", offer("os", "windows"))

	_, op := e.queuedOperation(t, ctx, request(e.upload(t, spec{
		platform:    []*repb.Platform_Property{prop("os", "linux")},
		cmdPlatform: []*repb.Platform_Property{prop("os", "windows")},
	})))
	if l := windows.poll(t, ctx); l != nil {
		t.Errorf("the command's platform was used: windows worker got %v", l)
	}
	if l := linux.lease(t, ctx); l.GetOperationName() != op.GetName() {
		t.Errorf("linux worker got %v", l)
	}

	// Without an Action platform, the Command's applies (older clients).
	_, op = e.queuedOperation(t, ctx, request(e.upload(t, spec{cmdPlatform: []*repb.Platform_Property{prop("os", "windows")}})))
	if l := linux.poll(t, ctx); l != nil {
		t.Errorf("linux worker got a windows action: %v", l)
	}
	if l := windows.lease(t, ctx); l.GetOperationName() != op.GetName() {
		t.Errorf("windows worker got %v", l)
	}
}

func TestItem38_MultiValuedProperties(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	_, op := e.queuedOperation(t, ctx, request(e.upload(t, spec{platform: []*repb.Platform_Property{prop("isa", "avx2"), prop("isa", "sse4")}})))
	if l := e.worker("one", offer("isa", "sse4")).poll(t, ctx); l != nil {
		t.Errorf("a worker offering one of two required values got the action")
	}
	w := e.worker("both", offer("isa", "sse4"), offer("os", "linux"), offer("isa", "avx2"))
	if l := w.lease(t, ctx); l.GetOperationName() != op.GetName() {
		t.Errorf("worker offering both values got %v", l)
	}
}

func TestItem38_UnmatchablePlatformFailsWithClearMessage(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.NoWorkerGrace = time.Minute; o.WorkerTTL = time.Hour })
	ctx := testCtx(t)
	e.worker("w1", offer("os", "linux")).poll(t, ctx) // registers, matches nothing queued
	stream, op := e.queuedOperation(t, ctx, request(e.upload(t, spec{platform: []*repb.Platform_Property{prop("gpu", "h100"), prop("os", "linux")}})))
	now := time.Now()

	e.s.failUnrunnable(ctx, now) // within the grace period: keeps waiting
	if got := e.operation(t, op.GetName()); !got.Queued() {
		t.Fatalf("failed before the grace period ended: %v", got.Stage)
	}
	// The worker is still alive (its TTL is longer than the grace).
	e.s.failUnrunnable(ctx, now.Add(time.Minute+time.Second))
	ops, err := collect(stream)
	if err != nil {
		t.Fatal(err)
	}
	st := response(t, ops[len(ops)-1]).GetStatus()
	if st.GetCode() != int32(codes.FailedPrecondition) || !strings.Contains(st.GetMessage(), "no worker knows the properties gpu (waited") {
		t.Errorf("status %v, want FAILED_PRECONDITION naming gpu, and only gpu, as unknown", st)
	}
}

func TestItem38_MatchingWorkerKeepsActionWaiting(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.NoWorkerGrace = time.Minute; o.WorkerTTL = time.Hour })
	ctx := testCtx(t)
	e.worker("busy", offer("os", "linux")).poll(t, ctx)
	_, op := e.queuedOperation(t, ctx, request(e.upload(t, spec{platform: []*repb.Platform_Property{prop("os", "linux")}})))
	e.s.failUnrunnable(ctx, time.Now().Add(2*time.Minute))
	if got := e.operation(t, op.GetName()); !got.Queued() {
		t.Errorf("an action a live worker can run was failed: %v", got.Response.GetStatus())
	}
}

func TestMaxQueueAgeFailsOldWork(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxQueueAge = time.Hour })
	ctx := testCtx(t)
	stream, _ := e.queuedOperation(t, ctx, request(e.upload(t, spec{})))
	e.s.failUnrunnable(ctx, time.Now().Add(2*time.Hour))
	ops, err := collect(stream)
	if err != nil {
		t.Fatal(err)
	}
	st := response(t, ops[len(ops)-1]).GetStatus()
	if st.GetCode() == 0 || !strings.Contains(st.GetMessage(), "waited in the queue for more than 1h0m0s") {
		t.Errorf("status %v, want a failure saying how long it waited", st)
	}
}
