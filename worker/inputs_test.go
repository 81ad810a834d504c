package worker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

// inputsFixture prepares actions from a memory CAS the way an execution does.
type inputsFixture struct {
	t     *testing.T
	store *countingStore
	agent *Agent
}

func newInputsFixture(t *testing.T) *inputsFixture {
	t.Helper()
	store := newCountingStore(cas.NewMemoryStore())
	files := newTestCache(t, t.TempDir(), 1<<20, store)
	return &inputsFixture{t: t, store: store, agent: &Agent{inputs: &inputFetcher{cas: store, files: files, concurrency: 4}}}
}

// action stores the Action and Command for root and returns its digest.
func (f *inputsFixture) action(root digest.Digest, cmd *repb.Command) digest.Digest {
	if cmd == nil {
		cmd = &repb.Command{Arguments: []string{"true"}}
	}
	return putProto(f.t, f.store, &repb.Action{CommandDigest: putProto(f.t, f.store, cmd).Proto(), InputRootDigest: root.Proto()})
}

// prepare lays out the action under a fresh root and returns the root.
func (f *inputsFixture) prepare(actionDigest digest.Digest) (string, string, error) {
	root := filepath.Join(f.t.TempDir(), "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		f.t.Fatal(err)
	}
	e := &execution{a: f.agent, action: actionDigest}
	_, _, workRel, _, err := e.prepare(context.Background(), root)
	return root, workRel, err
}

func wantCode(t *testing.T, err error, code codes.Code, substr string) {
	t.Helper()
	st := statusOf(err)
	if codes.Code(st.GetCode()) != code || !strings.Contains(st.GetMessage(), substr) {
		t.Errorf("status %v %q, want %v containing %q (err %v)", codes.Code(st.GetCode()), st.GetMessage(), code, substr, err)
	}
}

func TestMaterializeInputs(t *testing.T) {
	f := newInputsFixture(t)
	hello := putBlob(t, f.store, []byte("hello"))
	tool := putBlob(t, f.store, []byte("#!/bin/sh\necho tool\n"))
	leaf := putProto(t, f.store, &repb.Directory{Files: []*repb.FileNode{file("deep.txt", hello, false)}})
	sub := putProto(t, f.store, &repb.Directory{
		Files:       []*repb.FileNode{file("tool", tool, true)},
		Directories: []*repb.DirectoryNode{dirNode("leaf", leaf), dirNode("leaf2", leaf)},
		Symlinks:    []*repb.SymlinkNode{symlink("up", "../hello.txt")},
	})
	root := putProto(t, f.store, &repb.Directory{
		Files:       []*repb.FileNode{file("empty", digest.Empty(testFn), false), file("hello.txt", hello, false)},
		Directories: []*repb.DirectoryNode{dirNode("sub", sub), dirNode("emptydir", putProto(t, f.store, &repb.Directory{}))},
		Symlinks:    []*repb.SymlinkNode{symlink("link", "sub/tool"), symlink("dangling", "not/yet")},
	})
	dir, workRel, err := f.prepare(f.action(root, &repb.Command{
		Arguments: []string{"true"}, WorkingDirectory: "sub",
		OutputPaths: []string{"out/a/file", "../top/x"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if workRel != "sub" {
		t.Errorf("working directory %q", workRel)
	}
	for p, want := range map[string]string{
		"hello.txt": "hello", "empty": "", "sub/leaf/deep.txt": "hello", "sub/leaf2/deep.txt": "hello",
		"sub/up": "hello", "link": "#!/bin/sh\necho tool\n",
	} {
		if got := mustRead(t, filepath.Join(dir, p)); got != want {
			t.Errorf("%s reads %q, want %q", p, got, want)
		}
	}
	modes := map[string]os.FileMode{
		"hello.txt": 0o444, "sub/tool": 0o555, "sub": 0o755 | os.ModeDir, "emptydir": 0o755 | os.ModeDir,
		"link": os.ModeSymlink, "dangling": os.ModeSymlink,
	}
	for p, want := range modes {
		fi, err := os.Lstat(filepath.Join(dir, p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		got := fi.Mode()
		if want == os.ModeSymlink {
			got &= os.ModeType
		}
		if got != want {
			t.Errorf("%s has mode %v, want %v", p, got, want)
		}
	}
	if target, _ := os.Readlink(filepath.Join(dir, "dangling")); target != "not/yet" {
		t.Errorf("dangling -> %q", target)
	}
	// Output parents exist before the run, relative to the working dir.
	for _, p := range []string{"sub/out/a", "top"} {
		if fi, err := os.Stat(filepath.Join(dir, p)); err != nil || !fi.IsDir() {
			t.Errorf("output parent %s not created: %v", p, err)
		}
	}
	if n := f.store.getsOf(hello); n != 1 {
		t.Errorf("hello fetched %d times, want 1", n)
	}
}

func TestItem37_MaterializeRefusesHostileInputs(t *testing.T) {
	f := newInputsFixture(t)
	blob := putBlob(t, f.store, []byte("x"))
	other := putBlob(t, f.store, []byte("y"))
	sub := putProto(t, f.store, &repb.Directory{Symlinks: []*repb.SymlinkNode{symlink("up", "..")}})
	cases := []struct {
		name string
		dir  *repb.Directory
		want string
	}{
		{"dot-dot file", &repb.Directory{Files: []*repb.FileNode{file("..", blob, false)}}, `".."`},
		{"dot directory", &repb.Directory{Directories: []*repb.DirectoryNode{dirNode(".", sub)}}, `"."`},
		{"slash in a name", &repb.Directory{Files: []*repb.FileNode{file("a/b", blob, false)}}, "slash"},
		{"empty name", &repb.Directory{Files: []*repb.FileNode{file("", blob, false)}}, "empty"},
		{"duplicate files", &repb.Directory{Files: []*repb.FileNode{file("a", blob, false), file("a", other, false)}}, "more than once"},
		{"file and directory of one name", &repb.Directory{
			Files: []*repb.FileNode{file("a", blob, false)}, Directories: []*repb.DirectoryNode{dirNode("a", sub)}}, "more than once"},
		{"symlink and file of one name", &repb.Directory{
			Files: []*repb.FileNode{file("a", blob, false)}, Symlinks: []*repb.SymlinkNode{symlink("a", "b")}}, "more than once"},
		{"escaping symlink", &repb.Directory{Symlinks: []*repb.SymlinkNode{symlink("l", "../outside")}}, "outside the input root"},
		{"escaping through a symlink", &repb.Directory{
			Directories: []*repb.DirectoryNode{dirNode("d", sub)},
			Symlinks:    []*repb.SymlinkNode{symlink("l", "d/up/..")}}, "outside the input root"},
		{"absolute symlink", &repb.Directory{Symlinks: []*repb.SymlinkNode{symlink("l", "/etc/passwd")}}, "absolute"},
		{"bad file digest", &repb.Directory{Files: []*repb.FileNode{{Name: "f", Digest: &repb.Digest{Hash: "abc", SizeBytes: 1}}}}, "hex characters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, _, err := f.prepare(f.action(putProto(t, f.store, c.dir), nil))
			wantCode(t, err, codes.InvalidArgument, c.want)
			if _, serr := os.Stat(filepath.Join(filepath.Dir(root), "outside")); serr == nil {
				t.Error("something was created outside the root")
			}
		})
	}
}

func TestItem37_MaterializeAllowsAbsoluteSymlinksWhenConfigured(t *testing.T) {
	f := newInputsFixture(t)
	f.agent.inputs.allowAbsoluteSymlinks = true
	root := putProto(t, f.store, &repb.Directory{Symlinks: []*repb.SymlinkNode{symlink("l", "/usr/bin")}})
	if _, _, err := f.prepare(f.action(root, nil)); err != nil {
		t.Fatal(err)
	}
}

func TestMaterializeReportsEveryMissingBlob(t *testing.T) {
	f := newInputsFixture(t)
	gone1 := digest.OfBytes(testFn, []byte("gone 1"))
	gone2 := digest.OfBytes(testFn, []byte("gone 2"))
	present := putBlob(t, f.store, []byte("here"))
	missingDir := digest.OfBytes(testFn, []byte("not a directory we have"))
	sub := putProto(t, f.store, &repb.Directory{Files: []*repb.FileNode{file("g2", gone2, false)}})

	root := putProto(t, f.store, &repb.Directory{
		Files:       []*repb.FileNode{file("g1", gone1, false), file("p", present, false)},
		Directories: []*repb.DirectoryNode{dirNode("sub", sub)},
	})
	_, _, err := f.prepare(f.action(root, nil))
	assertMissing(t, err, gone1, gone2)

	rootWithMissingDir := putProto(t, f.store, &repb.Directory{Directories: []*repb.DirectoryNode{dirNode("m", missingDir)}})
	_, _, err = f.prepare(f.action(rootWithMissingDir, nil))
	assertMissing(t, err, missingDir)

	// A missing Command is reported the same way.
	cmd := digest.OfBytes(testFn, []byte("no such command"))
	act := putProto(t, f.store, &repb.Action{CommandDigest: cmd.Proto(), InputRootDigest: root.Proto()})
	_, _, err = f.prepare(act)
	assertMissing(t, err, cmd)
}

func assertMissing(t *testing.T, err error, want ...digest.Digest) {
	t.Helper()
	assertMissingStatus(t, statusOf(err), want...)
}

func assertMissingStatus(t *testing.T, sp *spb.Status, want ...digest.Digest) {
	t.Helper()
	st := status.FromProto(sp)
	if st.Code() != codes.FailedPrecondition {
		t.Fatalf("status %v %q, want FAILED_PRECONDITION", st.Code(), st.Message())
	}
	got := map[string]bool{}
	for _, det := range st.Details() {
		if pf, ok := det.(*errdetails.PreconditionFailure); ok {
			for _, v := range pf.GetViolations() {
				if v.GetType() != "MISSING" {
					t.Errorf("violation type %q", v.GetType())
				}
				got[v.GetSubject()] = true
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("violations %v, want %d", got, len(want))
	}
	for _, d := range want {
		if !got["blobs/"+d.String()] {
			t.Errorf("no violation for blobs/%s in %v", d, got)
		}
	}
}

func TestItem36_PrepareChecksWorkingDirectoryAndOutputs(t *testing.T) {
	f := newInputsFixture(t)
	blob := putBlob(t, f.store, []byte("x"))
	root := putProto(t, f.store, &repb.Directory{Files: []*repb.FileNode{file("afile", blob, false)}})
	for _, c := range []struct {
		name string
		cmd  *repb.Command
		want string
	}{
		{"missing working directory", &repb.Command{Arguments: []string{"true"}, WorkingDirectory: "nope"}, "working_directory"},
		{"working directory is a file", &repb.Command{Arguments: []string{"true"}, WorkingDirectory: "afile"}, "not a directory"},
		{"escaping working directory", &repb.Command{Arguments: []string{"true"}, WorkingDirectory: "../x"}, "working_directory"},
		{"no arguments", &repb.Command{}, "arguments"},
		{"absolute output", &repb.Command{Arguments: []string{"true"}, OutputPaths: []string{"/etc/x"}}, "absolute"},
		{"escaping output", &repb.Command{Arguments: []string{"true"}, OutputFiles: []string{"../x"}}, "outside"},
		{"trailing slash", &repb.Command{Arguments: []string{"true"}, OutputDirectories: []string{"d/"}}, "slash"},
		{"output under a file", &repb.Command{Arguments: []string{"true"}, OutputPaths: []string{"afile/x"}}, "not a directory"},
		{"bad env", &repb.Command{Arguments: []string{"true"}, EnvironmentVariables: []*repb.Command_EnvironmentVariable{{Name: "A=B", Value: "x"}}}, "variable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := f.prepare(f.action(root, c.cmd))
			wantCode(t, err, codes.InvalidArgument, c.want)
		})
	}
	// Output parents are never created through an absolute symlink.
	t.Run("output under an absolute symlink", func(t *testing.T) {
		f.agent.inputs.allowAbsoluteSymlinks = true
		defer func() { f.agent.inputs.allowAbsoluteSymlinks = false }()
		marker := "kiln-worker-test-" + filepath.Base(t.TempDir())
		root := putProto(t, f.store, &repb.Directory{Symlinks: []*repb.SymlinkNode{symlink("tmp", "/tmp")}})
		_, _, err := f.prepare(f.action(root, &repb.Command{Arguments: []string{"true"}, OutputPaths: []string{"tmp/" + marker + "/out"}}))
		wantCode(t, err, codes.InvalidArgument, "outside the input root")
		if _, err := os.Stat(filepath.Join("/tmp", marker)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("created /tmp/%s: %v", marker, err)
		}
	})
}
