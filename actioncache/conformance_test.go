package actioncache

// Conformance tests for the ActionCache items of shared/REAPI-CHECKLIST.md,
// each over a real gRPC server on 127.0.0.1 with a real client, and each
// once per Store backend (subtests memory, disk, redis, grpc).

import (
	"context"
	"strings"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

// backend is one kind of Store the service can run over.
type backend struct {
	name string
	// open returns an empty store whose entries may refer to blobs, and
	// seed, where a test writes entries that must bypass every check: the
	// store itself, or for a remote store the remote server's own store.
	open func(t *testing.T, blobs cas.BlobStore) (store, seed Store)
}

// backends lists every Store backend. The redis one starts a real
// redis-server (skipped without one unless KILN_REQUIRE_REDIS=1); the grpc
// one is a GRPCStore talking to a real Kiln ActionCache server over the
// same CAS, wired as cmd/kiln wires it.
func backends() []backend {
	same := func(s Store) (Store, Store) { return s, s }
	return []backend{
		{"memory", func(t *testing.T, _ cas.BlobStore) (Store, Store) { return same(NewMemoryStore()) }},
		{"disk", func(t *testing.T, _ cas.BlobStore) (Store, Store) {
			return same(openDisk(t, t.TempDir(), DiskStoreOptions{}))
		}},
		{"redis", func(t *testing.T, _ cas.BlobStore) (Store, Store) {
			s, _, _ := newRedisStore(t, time.Hour)
			return same(s)
		}},
		{"grpc", func(t *testing.T, blobs cas.BlobStore) (Store, Store) {
			remote := NewMemoryStore()
			srv := NewServer(NewCompletenessChecking(remote, blobs, CompletenessOptions{}), blobs, ServerOptions{UpdateEnabled: true})
			return NewGRPCStore(startServer(t, srv)), remote
		}},
	}
}

// forEachBackend runs test once per backend, as subtests named after them.
func forEachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { test(t, b) })
	}
}

// acServer is an ActionCache server over a completeness-checked store of
// one backend, wired as cmd/kiln wires it.
type acServer struct {
	client repb.ActionCacheClient
	base   Store // writes here bypass the server's checks
	blobs  *cas.MemoryStore
	reg    *prometheus.Registry
}

func newACServer(t *testing.T, b backend, opts ServerOptions) *acServer {
	t.Helper()
	s := &acServer{blobs: cas.NewMemoryStore(), reg: prometheus.NewRegistry()}
	store, seed := b.open(t, s.blobs)
	s.base = seed
	opts.Registerer = s.reg
	srv := NewServer(NewCompletenessChecking(store, s.blobs, CompletenessOptions{}), s.blobs, opts)
	s.client = startServer(t, srv)
	return s
}

func wantCode(t *testing.T, err error, want codes.Code, msgPart string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != want {
		t.Fatalf("status = %v %q, want %v", st.Code(), st.Message(), want)
	}
	if !strings.Contains(st.Message(), msgPart) {
		t.Errorf("message %q does not name the problem (%q)", st.Message(), msgPart)
	}
}

func TestItem21_GetActionResultMissIsNotFound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := newACServer(t, b, ServerOptions{})
		_, err := s.client.GetActionResult(context.Background(), &repb.GetActionResultRequest{
			ActionDigest: blobDigest("unknown action").Proto(),
		})
		wantCode(t, err, codes.NotFound, blobDigest("unknown action").Hash)
		if got := counterValue(t, s.reg, "GetActionResult", "miss"); got != 1 {
			t.Errorf("miss counter = %v, want 1", got)
		}
	})
}

func TestItem21_GetActionResultValidatesTheDigest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := newACServer(t, b, ServerOptions{})
		good := blobDigest("action")
		for _, tc := range []struct {
			name string
			req  *repb.GetActionResultRequest
			msg  string
		}{
			{"no digest", &repb.GetActionResultRequest{}, "action_digest"},
			{"short hash", &repb.GetActionResultRequest{ActionDigest: &repb.Digest{Hash: "abc", SizeBytes: 3}}, "3 characters"},
			{"uppercase hash", &repb.GetActionResultRequest{ActionDigest: &repb.Digest{Hash: strings.ToUpper(good.Hash), SizeBytes: 6}}, "hex"},
			{"negative size", &repb.GetActionResultRequest{ActionDigest: &repb.Digest{Hash: good.Hash, SizeBytes: -1}}, "negative"},
			{"unsupported function", &repb.GetActionResultRequest{ActionDigest: good.Proto(), DigestFunction: repb.DigestFunction_MD5}, "MD5"},
			{"length of another function", &repb.GetActionResultRequest{ActionDigest: good.Proto(), DigestFunction: repb.DigestFunction_SHA1}, "40"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.client.GetActionResult(context.Background(), tc.req)
				wantCode(t, err, codes.InvalidArgument, tc.msg)
			})
		}
	})
}

func TestItem21_EntryWithMissingOutputsIsServedAsMiss(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		gone := blobDigest("never uploaded")
		for _, tc := range []struct {
			name   string
			result func(t *testing.T, f *fixture) *repb.ActionResult
		}{
			{"complete", func(t *testing.T, f *fixture) *repb.ActionResult { return f.result }},
			{"output file", func(t *testing.T, f *fixture) *repb.ActionResult {
				return f.resultWith(gone, f.stdout, f.stderr, f.tree)
			}},
			{"stdout", func(t *testing.T, f *fixture) *repb.ActionResult { return f.resultWith(f.file, gone, f.stderr, f.tree) }},
			{"stderr", func(t *testing.T, f *fixture) *repb.ActionResult { return f.resultWith(f.file, f.stdout, gone, f.tree) }},
			{"tree", func(t *testing.T, f *fixture) *repb.ActionResult {
				return f.resultWith(f.file, f.stdout, f.stderr, gone)
			}},
			{"tree root file", func(t *testing.T, f *fixture) *repb.ActionResult {
				return f.resultWith(f.file, f.stdout, f.stderr, f.putTree(t, gone, f.childFile))
			}},
			{"tree child file", func(t *testing.T, f *fixture) *repb.ActionResult {
				return f.resultWith(f.file, f.stdout, f.stderr, f.putTree(t, f.rootFile, gone))
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f := newFixture(t)
				store, seed := b.open(t, f.blobs)
				client := startServer(t, NewServer(NewCompletenessChecking(store, f.blobs, CompletenessOptions{}), f.blobs, ServerOptions{}))
				k := actionKey("", tc.name)
				mustPut(t, seed, k, tc.result(t, f))
				got, err := client.GetActionResult(context.Background(), &repb.GetActionResultRequest{ActionDigest: k.Action.Proto()})
				if tc.name == "complete" {
					if err != nil {
						t.Fatalf("GetActionResult of a complete entry: %v", err)
					}
					if !proto.Equal(got, f.result) {
						t.Errorf("got %v, want %v", got, f.result)
					}
					return
				}
				wantCode(t, err, codes.NotFound, k.Action.Hash)
			})
		}
	})
}

func TestItem21_EntriesArePartitionedByInstanceAndFunction(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := newACServer(t, b, ServerOptions{})
		k := actionKey("team-a", "x")
		mustPut(t, s.base, k, &repb.ActionResult{ExitCode: 0})
		ctx := context.Background()
		if _, err := s.client.GetActionResult(ctx, &repb.GetActionResultRequest{InstanceName: "team-a", ActionDigest: k.Action.Proto()}); err != nil {
			t.Fatalf("own instance: %v", err)
		}
		_, err := s.client.GetActionResult(ctx, &repb.GetActionResultRequest{InstanceName: "team-b", ActionDigest: k.Action.Proto()})
		wantCode(t, err, codes.NotFound, "team-b")
		// The same 64-character hash under BLAKE3 names another action.
		_, err = s.client.GetActionResult(ctx, &repb.GetActionResultRequest{InstanceName: "team-a", ActionDigest: k.Action.Proto(), DigestFunction: repb.DigestFunction_BLAKE3})
		wantCode(t, err, codes.NotFound, k.Action.Hash)
	})
}

func TestItem22_InlinesOnlyWhenAskedAndWithinBudget(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := newACServer(t, b, ServerOptions{MaxInlineBytes: 10})
		out := putBlob(t, s.blobs, []byte("out"))          // 3 bytes
		errText := putBlob(t, s.blobs, []byte("err text")) // 8 bytes
		small := putBlob(t, s.blobs, []byte("tiny"))       // 4 bytes
		big := putBlob(t, s.blobs, []byte("far too big to inline"))
		k := actionKey("", "inline")
		mustPut(t, s.base, k, &repb.ActionResult{
			StdoutDigest: out.Proto(),
			StderrDigest: errText.Proto(),
			OutputFiles: []*repb.OutputFile{
				{Path: "small", Digest: small.Proto()},
				{Path: "big", Digest: big.Proto()},
				{Path: "unasked", Digest: small.Proto()},
			},
			// Stale inline contents in an entry are never sent unasked.
			StdoutRaw: []byte("stale"),
		})

		plain, err := s.client.GetActionResult(ctx, &repb.GetActionResultRequest{ActionDigest: k.Action.Proto()})
		if err != nil {
			t.Fatal(err)
		}
		if plain.StdoutRaw != nil || plain.StderrRaw != nil || plain.OutputFiles[0].Contents != nil {
			t.Errorf("contents inlined without being asked: %v", plain)
		}

		got, err := s.client.GetActionResult(ctx, &repb.GetActionResultRequest{
			ActionDigest: k.Action.Proto(), InlineStdout: true, InlineStderr: true,
			InlineOutputFiles: []string{"small", "big"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if string(got.StdoutRaw) != "out" {
			t.Errorf("stdout_raw = %q, want %q", got.StdoutRaw, "out")
		}
		// stdout (3) + stderr (8) would exceed the budget of 10.
		if got.StderrRaw != nil {
			t.Errorf("stderr inlined beyond the budget: %q", got.StderrRaw)
		}
		files := map[string]*repb.OutputFile{}
		for _, f := range got.OutputFiles {
			files[f.Path] = f
		}
		if string(files["small"].Contents) != "tiny" {
			t.Errorf("small file contents = %q, want %q", files["small"].Contents, "tiny")
		}
		if files["big"].Contents != nil || files["unasked"].Contents != nil {
			t.Error("inlined a file over the budget or one not asked for")
		}
		if !proto.Equal(files["big"].Digest, big.Proto()) {
			t.Error("digest of a file not inlined changed")
		}
	})
}

func TestItem22_NeverInlinesWithNegativeBudget(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := newACServer(t, b, ServerOptions{MaxInlineBytes: -1})
		out := putBlob(t, s.blobs, []byte("out"))
		k := actionKey("", "no inline")
		mustPut(t, s.base, k, &repb.ActionResult{StdoutDigest: out.Proto()})
		got, err := s.client.GetActionResult(context.Background(), &repb.GetActionResultRequest{ActionDigest: k.Action.Proto(), InlineStdout: true})
		if err != nil {
			t.Fatal(err)
		}
		if got.StdoutRaw != nil {
			t.Errorf("inlined %q with inlining disabled", got.StdoutRaw)
		}
	})
}

// update sends r for a made-up action and returns the result and error.
func (s *acServer) update(t *testing.T, name string, r *repb.ActionResult) (*repb.ActionResult, error) {
	t.Helper()
	return s.client.UpdateActionResult(context.Background(), &repb.UpdateActionResultRequest{
		ActionDigest: actionKey("", name).Action.Proto(), ActionResult: r,
	})
}

func TestItem23_UpdateRejectsMalformedResults(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := newACServer(t, b, ServerOptions{UpdateEnabled: true})
		file := putBlob(t, s.blobs, []byte("content"))
		okFile := func(path string) *repb.OutputFile { return &repb.OutputFile{Path: path, Digest: file.Proto()} }
		bad := &repb.Digest{Hash: "nothex", SizeBytes: 1}
		for _, tc := range []struct {
			name   string
			result *repb.ActionResult
			msg    string
		}{
			{"nil result", nil, "action_result is missing"},
			{"file without digest", &repb.ActionResult{OutputFiles: []*repb.OutputFile{{Path: "a"}}}, "digest is missing"},
			{"file with bad digest", &repb.ActionResult{OutputFiles: []*repb.OutputFile{{Path: "a", Digest: bad}}}, "nothex"},
			{"absolute path", &repb.ActionResult{OutputFiles: []*repb.OutputFile{okFile("/etc/passwd")}}, "absolute"},
			{"dot-dot path", &repb.ActionResult{OutputFiles: []*repb.OutputFile{okFile("a/../../b")}}, `".."`},
			{"dot path", &repb.ActionResult{OutputFiles: []*repb.OutputFile{okFile("./a")}}, `"."`},
			{"empty segment", &repb.ActionResult{OutputFiles: []*repb.OutputFile{okFile("a//b")}}, "empty segment"},
			{"trailing slash", &repb.ActionResult{OutputFiles: []*repb.OutputFile{okFile("a/")}}, "empty segment"},
			{"empty file path", &repb.ActionResult{OutputFiles: []*repb.OutputFile{okFile("")}}, "path is empty"},
			{"duplicate path", &repb.ActionResult{OutputFiles: []*repb.OutputFile{okFile("a"), okFile("a")}}, "also listed"},
			{"tree digest missing", &repb.ActionResult{OutputDirectories: []*repb.OutputDirectory{{Path: "d"}}}, "tree_digest"},
			{"bad root directory digest", &repb.ActionResult{OutputDirectories: []*repb.OutputDirectory{{Path: "d", TreeDigest: file.Proto(), RootDirectoryDigest: bad}}}, "root_directory_digest"},
			{"bad stdout digest", &repb.ActionResult{StdoutDigest: bad}, "stdout_digest"},
			{"bad stderr digest", &repb.ActionResult{StderrDigest: &repb.Digest{Hash: file.Hash, SizeBytes: -5}}, "stderr_digest"},
			{"symlink without target", &repb.ActionResult{OutputSymlinks: []*repb.OutputSymlink{{Path: "l"}}}, "target is empty"},
			{"symlink escaping path", &repb.ActionResult{OutputFileSymlinks: []*repb.OutputSymlink{{Path: "../l", Target: "x"}}}, `".."`},
			{"inline stdout not matching its digest", &repb.ActionResult{StdoutRaw: []byte("other"), StdoutDigest: file.Proto()}, "stdout_raw"},
			{"inline file not matching its digest", &repb.ActionResult{OutputFiles: []*repb.OutputFile{{Path: "a", Digest: file.Proto(), Contents: []byte("other")}}}, `output file "a" contents`},
			{"tree blob that is no Tree", &repb.ActionResult{OutputDirectories: []*repb.OutputDirectory{{Path: "d", TreeDigest: putBlob(t, s.blobs, []byte{0x0a, 0x09}).Proto()}}}, "malformed Tree"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.update(t, tc.name, tc.result)
				wantCode(t, err, codes.InvalidArgument, tc.msg)
			})
		}
		_, err := s.client.UpdateActionResult(context.Background(), &repb.UpdateActionResultRequest{
			ActionDigest: &repb.Digest{Hash: "abc", SizeBytes: 1}, ActionResult: &repb.ActionResult{},
		})
		wantCode(t, err, codes.InvalidArgument, "action_digest")
		if got := counterValue(t, s.reg, "UpdateActionResult", "invalid"); got == 0 {
			t.Error("invalid updates were not counted")
		}
	})
}

func TestItem23_UpdateAcceptsWellFormedOddities(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := newACServer(t, b, ServerOptions{UpdateEnabled: true})
		emptyTree := putBlob(t, s.blobs, marshal(t, &repb.Tree{Root: &repb.Directory{}}))
		r := &repb.ActionResult{
			// The empty path names the whole working directory.
			OutputDirectories: []*repb.OutputDirectory{{Path: "", TreeDigest: emptyTree.Proto()}},
			// Absolute and '..' targets are allowed (strategy ALLOWED).
			OutputSymlinks:     []*repb.OutputSymlink{{Path: "l", Target: "/usr/bin/cc"}},
			OutputFileSymlinks: []*repb.OutputSymlink{{Path: "l", Target: "/usr/bin/cc"}},
			// The empty blob is always present.
			OutputFiles: []*repb.OutputFile{{Path: "empty", Digest: digest.Empty(fnSHA256).Proto()}},
			ExitCode:    -1,
		}
		if _, err := s.update(t, "oddities", r); err != nil {
			t.Fatalf("UpdateActionResult: %v", err)
		}
	})
}

func TestItem23_UpdateWithMissingBlobsIsFailedPrecondition(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := newACServer(t, b, ServerOptions{UpdateEnabled: true})
		present := putBlob(t, s.blobs, []byte("present"))
		goneFile := blobDigest("gone file")
		goneInTree := blobDigest("gone inside a tree")
		goneTree := blobDigest("gone tree")
		tree := putBlob(t, s.blobs, marshal(t, &repb.Tree{
			Root:     &repb.Directory{Files: []*repb.FileNode{fileNode("ok", present)}},
			Children: []*repb.Directory{{Files: []*repb.FileNode{fileNode("x", goneInTree)}}},
		}))
		_, err := s.update(t, "missing", &repb.ActionResult{
			OutputFiles: []*repb.OutputFile{{Path: "f", Digest: goneFile.Proto()}, {Path: "g", Digest: present.Proto()}},
			OutputDirectories: []*repb.OutputDirectory{
				{Path: "d", TreeDigest: tree.Proto()},
				{Path: "e", TreeDigest: goneTree.Proto()},
			},
		})
		wantCode(t, err, codes.FailedPrecondition, "3 blobs")
		var subjects []string
		for _, d := range status.Convert(err).Details() {
			pf, ok := d.(*errdetails.PreconditionFailure)
			if !ok {
				continue
			}
			for _, v := range pf.GetViolations() {
				if v.GetType() != "MISSING" {
					t.Errorf("violation type %q, want MISSING", v.GetType())
				}
				subjects = append(subjects, v.GetSubject())
			}
		}
		want := map[string]bool{"blobs/" + goneFile.String(): true, "blobs/" + goneInTree.String(): true, "blobs/" + goneTree.String(): true}
		if len(subjects) != len(want) {
			t.Fatalf("violations %v, want exactly %v", subjects, want)
		}
		for _, s := range subjects {
			if !want[s] {
				t.Errorf("unexpected violation subject %q", s)
			}
		}
		// Nothing was stored.
		_, err = s.client.GetActionResult(context.Background(), &repb.GetActionResultRequest{ActionDigest: actionKey("", "missing").Action.Proto()})
		wantCode(t, err, codes.NotFound, "")
	})
}

func TestItem23_UpdateStoresAndReturnsTheResult(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := newACServer(t, b, ServerOptions{UpdateEnabled: true})
		file := putBlob(t, s.blobs, []byte("object code"))
		r := &repb.ActionResult{
			OutputFiles:       []*repb.OutputFile{{Path: "out/a.o", Digest: file.Proto(), IsExecutable: true}},
			ExecutionMetadata: &repb.ExecutedActionMetadata{Worker: "laptop"},
		}
		stored, err := s.update(t, "roundtrip", r)
		if err != nil {
			t.Fatalf("UpdateActionResult: %v", err)
		}
		if !proto.Equal(stored, r) {
			t.Errorf("returned %v, want %v", stored, r)
		}
		got, err := s.client.GetActionResult(context.Background(), &repb.GetActionResultRequest{ActionDigest: actionKey("", "roundtrip").Action.Proto()})
		if err != nil {
			t.Fatalf("GetActionResult after update: %v", err)
		}
		if !proto.Equal(got, r) {
			t.Errorf("read back %v, want %v", got, r)
		}
		if hits, stores := counterValue(t, s.reg, "GetActionResult", "hit"), counterValue(t, s.reg, "UpdateActionResult", "stored"); hits != 1 || stores != 1 {
			t.Errorf("hit counter %v, stored counter %v; want 1 and 1", hits, stores)
		}
	})
}

func TestItem23_UpdateMovesInlinedContentsToTheCAS(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := newACServer(t, b, ServerOptions{UpdateEnabled: true})
		stored, err := s.update(t, "inlined", &repb.ActionResult{
			StdoutRaw:   []byte("hello"),
			OutputFiles: []*repb.OutputFile{{Path: "f", Digest: blobDigest("data").Proto(), Contents: []byte("data")}},
		})
		if err != nil {
			t.Fatalf("UpdateActionResult: %v", err)
		}
		if stored.StdoutRaw != nil || stored.OutputFiles[0].Contents != nil {
			t.Errorf("inlined contents kept in the entry: %v", stored)
		}
		if !proto.Equal(stored.StdoutDigest, blobDigest("hello").Proto()) {
			t.Errorf("stdout_digest = %v, want the digest of the inlined stdout", stored.StdoutDigest)
		}
		for _, d := range []digest.Digest{blobDigest("hello"), blobDigest("data")} {
			if ok, _ := cas.Has(context.Background(), s.blobs, d); !ok {
				t.Errorf("inlined blob %s was not stored in the CAS", d)
			}
		}
	})
}

func TestItem23_UpdateDisabledIsPermissionDenied(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := newACServer(t, b, ServerOptions{UpdateEnabled: false})
		_, err := s.update(t, "denied", &repb.ActionResult{})
		wantCode(t, err, codes.PermissionDenied, "disabled")
		if got := counterValue(t, s.reg, "UpdateActionResult", "denied"); got != 1 {
			t.Errorf("denied counter = %v, want 1", got)
		}
	})
}

func TestItem24_NonZeroExitCodeIsServedWhenWrittenExplicitly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := newACServer(t, b, ServerOptions{UpdateEnabled: true})
		stderr := putBlob(t, s.blobs, []byte("error: undefined reference"))
		r := &repb.ActionResult{ExitCode: 1, StderrDigest: stderr.Proto()}
		if _, err := s.update(t, "failing", r); err != nil {
			t.Fatalf("UpdateActionResult of a failed action: %v", err)
		}
		got, err := s.client.GetActionResult(context.Background(), &repb.GetActionResultRequest{ActionDigest: actionKey("", "failing").Action.Proto()})
		if err != nil {
			t.Fatalf("GetActionResult: %v", err)
		}
		if got.ExitCode != 1 {
			t.Errorf("exit code = %d, want 1", got.ExitCode)
		}
	})
}
