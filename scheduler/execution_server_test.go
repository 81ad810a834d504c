package scheduler

import (
	"context"
	"strings"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/kilnbuild/kiln/actioncache"
	"github.com/kilnbuild/kiln/internal/digest"
)

func TestItem25_OperationShapeAndStreamEnd(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	d := e.upload(t, spec{})
	stream, err := e.exec.Execute(ctx, request(d))
	if err != nil {
		t.Fatal(err)
	}
	w := e.worker("w1")
	l := w.lease(t, ctx)
	w.complete(t, ctx, l, success(0, "hi"))
	ops, err := collect(stream)
	if err != nil {
		t.Fatalf("stream ended with %v", err)
	}
	if len(ops) < 2 {
		t.Fatalf("got %d operations, want at least an early one and the final one", len(ops))
	}
	for i, op := range ops {
		md := metadata(t, op)
		if op.GetName() != ops[0].GetName() || !strings.HasPrefix(op.GetName(), "main/operations/") {
			t.Errorf("op %d name %q (first %q)", i, op.GetName(), ops[0].GetName())
		}
		if md.GetActionDigest().GetHash() != d.Hash || md.GetActionDigest().GetSizeBytes() != d.Size {
			t.Errorf("op %d metadata action digest %v, want %v", i, md.GetActionDigest(), d)
		}
		if md.GetDigestFunction() != repb.DigestFunction_SHA256 {
			t.Errorf("op %d metadata digest function %v", i, md.GetDigestFunction())
		}
		if !strings.HasSuffix(md.GetStdoutStreamName(), "/stdout") || !strings.HasSuffix(md.GetStderrStreamName(), "/stderr") {
			t.Errorf("op %d stream names %q, %q", i, md.GetStdoutStreamName(), md.GetStderrStreamName())
		}
		if op.GetError() != nil {
			t.Errorf("op %d has Operation.error set: %v", i, op.GetError())
		}
		last := i == len(ops)-1
		if op.GetDone() != last {
			t.Errorf("op %d done=%v; only the last may be done", i, op.GetDone())
		}
		if op.GetDone() != (md.GetStage() == repb.ExecutionStage_COMPLETED) {
			t.Errorf("op %d done=%v with stage %v", i, op.GetDone(), md.GetStage())
		}
	}
	resp := response(t, ops[len(ops)-1])
	if string(resp.GetResult().GetStdoutRaw()) != "hi" || resp.GetStatus().GetCode() != 0 {
		t.Errorf("response = %v", resp)
	}
}

func TestItem26_StagesInOrder(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	stream, err := e.exec.Execute(ctx, request(e.upload(t, spec{})))
	if err != nil {
		t.Fatal(err)
	}
	var stages []repb.ExecutionStage_Value
	first, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	stages = append(stages, stageOf(t, first))
	w := e.worker("w1")
	l := w.lease(t, ctx)
	for stages[len(stages)-1] != repb.ExecutionStage_EXECUTING {
		op, err := stream.Recv()
		if err != nil {
			t.Fatalf("after stages %v: %v", stages, err)
		}
		stages = append(stages, stageOf(t, op))
	}
	w.complete(t, ctx, l, success(0, ""))
	rest, err := collect(stream)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range rest {
		stages = append(stages, stageOf(t, op))
	}
	if stages[0] != repb.ExecutionStage_CACHE_CHECK {
		t.Errorf("first stage %v, want CACHE_CHECK", stages[0])
	}
	if stages[len(stages)-1] != repb.ExecutionStage_COMPLETED {
		t.Errorf("last stage %v, want COMPLETED", stages[len(stages)-1])
	}
	for i := 1; i < len(stages); i++ {
		if stages[i] < stages[i-1] {
			t.Errorf("stages went backwards without a retry: %v", stages)
		}
	}
}

func TestItem27_MissingBlobsArePreconditionFailures(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)

	t.Run("action", func(t *testing.T) {
		d := digest.OfBytes(fn, []byte("never uploaded"))
		err := executeErr(ctx, e, request(d))
		assertMissing(t, err, []string{"blobs/" + d.String()})
	})

	t.Run("command and inputs", func(t *testing.T) {
		missingFile := digest.OfBytes(fn, []byte("missing file"))
		missingFile2 := digest.OfBytes(fn, []byte("missing file 2"))
		present := e.put(t, []byte("present"))
		missingDir := digest.OfBytes(fn, []byte("not a directory that exists"))
		sub := &repb.Directory{Files: []*repb.FileNode{{Name: "b", Digest: missingFile2.Proto()}}}
		root := &repb.Directory{
			Files: []*repb.FileNode{
				{Name: "a", Digest: missingFile.Proto()},
				{Name: "e", Digest: digest.Empty(fn).Proto()}, // never missing
				{Name: "p", Digest: present.Proto()},
			},
			Directories: []*repb.DirectoryNode{
				{Name: "gone", Digest: missingDir.Proto()},
				{Name: "sub", Digest: e.putProto(t, sub).Proto()},
			},
		}
		cmd := digest.OfBytes(fn, []byte("command never uploaded"))
		action := e.putProto(t, &repb.Action{CommandDigest: cmd.Proto(), InputRootDigest: e.putProto(t, root).Proto()})
		err := executeErr(ctx, e, request(action))
		assertMissing(t, err, []string{"blobs/" + cmd.String(), "blobs/" + missingDir.String(), "blobs/" + missingFile.String(), "blobs/" + missingFile2.String()})
	})

	t.Run("missing input root", func(t *testing.T) {
		root := digest.OfBytes(fn, []byte("no such root"))
		cmd := e.putProto(t, &repb.Command{Arguments: []string{"x"}})
		action := e.putProto(t, &repb.Action{CommandDigest: cmd.Proto(), InputRootDigest: root.Proto()})
		assertMissing(t, executeErr(ctx, e, request(action)), []string{"blobs/" + root.String()})
	})

	t.Run("blake3 subjects name the function", func(t *testing.T) {
		d := digest.OfBytes(repb.DigestFunction_BLAKE3, []byte("never uploaded"))
		assertMissing(t, executeErr(ctx, e, request(d)), []string{"blobs/blake3/" + d.String()})
	})

	t.Run("empty input root is never missing", func(t *testing.T) {
		cmd := e.putProto(t, &repb.Command{Arguments: []string{"x"}})
		action := e.putProto(t, &repb.Action{CommandDigest: cmd.Proto(), InputRootDigest: digest.Empty(fn).Proto()})
		s, err := e.exec.Execute(ctx, request(action))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); err != nil {
			t.Fatalf("Execute with an empty input root: %v", err)
		}
	})
}

// executeErr runs Execute and returns the error its stream ends with.
func executeErr(ctx context.Context, e *env, req *repb.ExecuteRequest) error {
	s, err := e.exec.Execute(ctx, req)
	if err != nil {
		return err
	}
	_, err = collect(s)
	return err
}

func assertMissing(t *testing.T, err error, want []string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.FailedPrecondition {
		t.Fatalf("got %v, want FAILED_PRECONDITION", err)
	}
	var got []string
	for _, d := range st.Details() {
		pf, ok := d.(*errdetails.PreconditionFailure)
		if !ok {
			continue
		}
		for _, v := range pf.GetViolations() {
			if v.GetType() != "MISSING" {
				t.Errorf("violation type %q, want MISSING", v.GetType())
			}
			got = append(got, v.GetSubject())
		}
	}
	if len(got) != len(want) {
		t.Fatalf("violations %v, want %v", got, want)
	}
	seen := map[string]bool{}
	for _, g := range got {
		seen[g] = true
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("no violation for %s (got %v)", w, got)
		}
	}
}

func TestItem4_NonCanonicalInputIsInvalidArgument(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	cases := []struct {
		name string
		sp   spec
		want string
	}{
		{"unsorted env", spec{mutateCmd: func(c *repb.Command) {
			c.EnvironmentVariables = []*repb.Command_EnvironmentVariable{{Name: "B"}, {Name: "A"}}
		}}, "environment variables must be sorted"},
		{"unsorted output paths", spec{mutateCmd: func(c *repb.Command) { c.OutputPaths = []string{"b", "a"} }}, "output_paths must be sorted"},
		{"duplicate output path", spec{mutateCmd: func(c *repb.Command) { c.OutputPaths = []string{"a", "a"} }}, "output_paths must be sorted and unique"},
		{"absolute output path", spec{mutateCmd: func(c *repb.Command) { c.OutputPaths = []string{"/etc/x"} }}, "absolute"},
		{"no arguments", spec{mutateCmd: func(c *repb.Command) { c.Arguments = nil }}, "no arguments"},
		{"unsorted action platform", spec{platform: []*repb.Platform_Property{prop("os", "linux"), prop("arch", "x86")}}, "sorted by name"},
		{"unsorted command platform", spec{cmdPlatform: []*repb.Platform_Property{prop("b", "1"), prop("a", "1")}}, "command platform"},
		{"directory name with a slash", spec{root: &repb.Directory{Files: []*repb.FileNode{{Name: "a/b", Digest: digest.Empty(fn).Proto()}}}}, "one path segment"},
		{"unsorted directory", spec{root: &repb.Directory{Files: []*repb.FileNode{
			{Name: "b", Digest: digest.Empty(fn).Proto()}, {Name: "a", Digest: digest.Empty(fn).Proto()}}}}, "sorted and unique"},
		{"bad file digest", spec{root: &repb.Directory{Files: []*repb.FileNode{{Name: "a", Digest: &repb.Digest{Hash: "xyz", SizeBytes: 1}}}}}, "file \"a\""},
		{"negative timeout", spec{timeout: durationpb.New(-time.Second)}, "negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := executeErr(ctx, e, request(e.upload(t, tc.sp)))
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want INVALID_ARGUMENT mentioning %q", err, tc.want)
			}
		})
	}
	t.Run("garbage action", func(t *testing.T) {
		err := executeErr(ctx, e, request(e.put(t, []byte("\xff\xff\xff not a proto"))))
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "not a valid") {
			t.Errorf("got %v, want INVALID_ARGUMENT naming the action", err)
		}
	})
	t.Run("wrong size for the hash", func(t *testing.T) {
		d := e.upload(t, spec{})
		d.Size++ // another blob, which nobody uploaded
		assertMissing(t, executeErr(ctx, e, request(d)), []string{"blobs/" + d.String()})
	})
	t.Run("hash length matches no function", func(t *testing.T) {
		req := &repb.ExecuteRequest{ActionDigest: &repb.Digest{Hash: "abcd", SizeBytes: 3}}
		if err := executeErr(ctx, e, req); status.Code(err) != codes.InvalidArgument {
			t.Errorf("got %v, want INVALID_ARGUMENT", err)
		}
	})
}

func TestItem28_ErrorsTravelInResponseStatus(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	stream, err := e.exec.Execute(ctx, request(e.upload(t, spec{})))
	if err != nil {
		t.Fatal(err)
	}
	w := e.worker("w1")
	l := w.lease(t, ctx)
	partial := &repb.ExecuteResponse{
		Result: &repb.ActionResult{ExitCode: 137, StdoutRaw: []byte("partial")},
		Status: &statuspb.Status{Code: int32(codes.DeadlineExceeded), Message: "timed out after 1s"},
	}
	w.complete(t, ctx, l, partial)
	ops, err := collect(stream)
	if err != nil {
		t.Fatalf("the RPC itself must succeed, got %v", err)
	}
	last := ops[len(ops)-1]
	if last.GetError() != nil {
		t.Errorf("Operation.error set: %v", last.GetError())
	}
	resp := response(t, last)
	if resp.GetStatus().GetCode() != int32(codes.DeadlineExceeded) || string(resp.GetResult().GetStdoutRaw()) != "partial" {
		t.Errorf("response = %v, want DEADLINE_EXCEEDED with the partial result", resp)
	}
	// The scheduler never writes the action cache (the worker does, and
	// only for cacheable successes).
	if _, err := e.ac.Get(ctx, actioncache.Key{Instance: "main", Action: e.operation(t, last.GetName()).Action}); err == nil {
		t.Errorf("a failed execution reached the action cache")
	}
}

func TestItem29_CachedResultOnlyForCacheHits(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	hit := e.upload(t, spec{})
	if err := e.ac.Put(ctx, actioncache.Key{Instance: "main", Action: hit}, &repb.ActionResult{StdoutRaw: []byte("cached")}); err != nil {
		t.Fatal(err)
	}
	stream, err := e.exec.Execute(ctx, request(hit))
	if err != nil {
		t.Fatal(err)
	}
	ops, err := collect(stream)
	if err != nil {
		t.Fatal(err)
	}
	last := ops[len(ops)-1]
	resp := response(t, last)
	if !resp.GetCachedResult() || string(resp.GetResult().GetStdoutRaw()) != "cached" || stageOf(t, last) != repb.ExecutionStage_COMPLETED {
		t.Errorf("cache hit response = %v (stage %v), want cached_result with the cached result", resp, stageOf(t, last))
	}
	if l := e.worker("w1").poll(t, ctx); l != nil {
		t.Errorf("a cache hit was handed to a worker: %v", l)
	}

	// An executed result is never marked cached, whatever the worker says.
	stream, err = e.exec.Execute(ctx, request(e.upload(t, spec{})))
	if err != nil {
		t.Fatal(err)
	}
	w := e.worker("w1")
	l := w.lease(t, ctx)
	lying := success(0, "")
	lying.CachedResult = true
	w.complete(t, ctx, l, lying)
	ops, _ = collect(stream)
	if response(t, ops[len(ops)-1]).GetCachedResult() {
		t.Errorf("an execution was reported as a cache hit")
	}
}

// gatedCache blocks lookups until released, to hold an operation in
// CACHE_CHECK.
type gatedCache struct {
	actioncache.Store
	entered chan struct{}
	release chan struct{}
}

func (g *gatedCache) Get(ctx context.Context, k actioncache.Key) (*repb.ActionResult, error) {
	g.entered <- struct{}{}
	<-g.release
	return g.Store.Get(ctx, k)
}

func TestItem30_SkipCacheLookup(t *testing.T) {
	t.Run("executes despite a cached result", func(t *testing.T) {
		e := newEnv(t)
		ctx := testCtx(t)
		d := e.upload(t, spec{})
		e.ac.Put(ctx, actioncache.Key{Instance: "main", Action: d}, &repb.ActionResult{StdoutRaw: []byte("stale")})
		req := request(d)
		req.SkipCacheLookup = true
		stream, err := e.exec.Execute(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		w := e.worker("w1")
		l := w.lease(t, ctx)
		w.complete(t, ctx, l, success(0, "fresh"))
		ops, err := collect(stream)
		if err != nil {
			t.Fatal(err)
		}
		resp := response(t, ops[len(ops)-1])
		if resp.GetCachedResult() || string(resp.GetResult().GetStdoutRaw()) != "fresh" {
			t.Errorf("skip_cache_lookup got %v, want the fresh execution", resp)
		}
	})

	t.Run("merges with queued work", func(t *testing.T) {
		e := newEnv(t)
		ctx := testCtx(t)
		d := e.upload(t, spec{})
		_, first := e.queuedOperation(t, ctx, request(d))
		req := request(d)
		req.SkipCacheLookup = true
		s2, err := e.exec.Execute(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		op, err := s2.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if op.GetName() != first.GetName() {
			t.Errorf("skip_cache_lookup did not merge with the queued execution: %s vs %s", op.GetName(), first.GetName())
		}
	})

	t.Run("never merges with a cache check", func(t *testing.T) {
		gate := &gatedCache{entered: make(chan struct{}, 1), release: make(chan struct{})}
		e := newEnv(t, func(o *Options) { gate.Store = o.ActionCache; o.ActionCache = gate })
		ctx := testCtx(t)
		d := e.upload(t, spec{})
		e.ac.Put(ctx, actioncache.Key{Instance: "main", Action: d}, &repb.ActionResult{StdoutRaw: []byte("old")})
		s1, err := e.exec.Execute(ctx, request(d))
		if err != nil {
			t.Fatal(err)
		}
		first, err := s1.Recv()
		if err != nil {
			t.Fatal(err)
		}
		<-gate.entered // the first request is looking up the cache
		req := request(d)
		req.SkipCacheLookup = true
		s2, err := e.exec.Execute(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		second, err := s2.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if second.GetName() == first.GetName() {
			t.Fatalf("skip_cache_lookup merged with an operation that may return a cached result")
		}
		close(gate.release)
		w := e.worker("w1")
		l := w.lease(t, ctx)
		w.complete(t, ctx, l, success(0, "new"))
		ops, _ := collect(s2)
		if r := response(t, ops[len(ops)-1]); r.GetCachedResult() || string(r.GetResult().GetStdoutRaw()) != "new" {
			t.Errorf("skip_cache_lookup request got %v", r)
		}
		ops, _ = collect(s1)
		if r := response(t, ops[len(ops)-1]); !r.GetCachedResult() {
			t.Errorf("the plain request should have hit the cache, got %v", r)
		}
	})
}

func TestItem31_DoNotCacheNeverMerges(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	d := e.upload(t, spec{doNotCache: true})
	_, a := e.queuedOperation(t, ctx, request(d))
	_, b := e.queuedOperation(t, ctx, request(d))
	if a.GetName() == b.GetName() {
		t.Fatalf("two do_not_cache requests share operation %s", a.GetName())
	}
	w := e.worker("w1")
	l1, l2 := w.lease(t, ctx), w.lease(t, ctx)
	if l1.GetOperationName() == l2.GetOperationName() || !l1.GetDoNotCache() || !l2.GetDoNotCache() {
		t.Errorf("leases %v and %v: want two executions, both do_not_cache", l1, l2)
	}
}

func TestItem33_Timeouts(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.DefaultTimeout = 7 * time.Minute; o.MaxTimeout = time.Hour })
	ctx := testCtx(t)
	w := e.worker("w1")

	e.queuedOperation(t, ctx, request(e.upload(t, spec{})))
	if got := w.lease(t, ctx).GetTimeout().AsDuration(); got != 7*time.Minute {
		t.Errorf("absent timeout became %v, want the default 7m", got)
	}
	e.queuedOperation(t, ctx, request(e.upload(t, spec{timeout: durationpb.New(5 * time.Second)})))
	if got := w.lease(t, ctx).GetTimeout().AsDuration(); got != 5*time.Second {
		t.Errorf("timeout 5s became %v", got)
	}
	err := executeErr(ctx, e, request(e.upload(t, spec{timeout: durationpb.New(2 * time.Hour)})))
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "maximum") {
		t.Errorf("timeout over the maximum: got %v, want INVALID_ARGUMENT naming the maximum", err)
	}
}
