package worker

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

// outputRoot builds what an action might leave behind, under root/work.
func outputRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	w := func(p, content string, mode os.FileMode) {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	l := func(p, target string) {
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	w("work/file.txt", "file content", 0o644)
	w("work/tool", "#!/bin/sh\n", 0o755)
	w("work/dir/a.txt", "a", 0o644)
	w("work/dir/x/same.txt", "same", 0o644)
	w("work/dir/y/same.txt", "same", 0o644) // x and y are identical subtrees
	w("work/dir/x/run", "#!/bin/sh\n", 0o700)
	w("work/dir/y/run", "#!/bin/sh\n", 0o700)
	l("work/dir/link", "a.txt")
	w("work/empty_dir/.keep", "", 0o644)
	os.Remove(filepath.Join(root, "work/empty_dir/.keep"))
	l("work/file_link", "file.txt")
	l("work/dir_link", "dir")
	l("work/dangling", "nowhere")
	l("work/abs_link", "/etc/passwd")
	l("work/escaping", "../../outside")
	w("work/bad_dir/ok.txt", "ok", 0o644)
	l("work/bad_dir/evil", "../../../etc")
	l("work/parent_link", "/etc")
	return root
}

func collectOutputs(t *testing.T, root string, cmd *repb.Command) (*outputCollector, error) {
	t.Helper()
	reqs, err := outputsOf(cmd)
	if err != nil {
		t.Fatalf("outputsOf: %v", err)
	}
	c := &outputCollector{rootDir: root, workRel: "work", fn: testFn}
	return c, c.collect(reqs)
}

func TestItem34_35_CollectOutputPathsAsTrees(t *testing.T) {
	root := outputRoot(t)
	c, err := collectOutputs(t, root, &repb.Command{
		OutputPaths: []string{"dangling", "dir", "dir_link", "empty_dir", "file.txt", "file_link", "missing", "tool"},
		// Ignored: output_paths wins.
		OutputFiles: []string{"dir"},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := c.result
	files := map[string]*repb.OutputFile{}
	for _, f := range r.GetOutputFiles() {
		files[f.GetPath()] = f
	}
	if len(files) != 2 || files["file.txt"] == nil || files["tool"] == nil {
		t.Fatalf("output files %v", r.GetOutputFiles())
	}
	if files["file.txt"].GetIsExecutable() || !files["tool"].GetIsExecutable() {
		t.Error("is_executable does not follow the mode")
	}
	if got := files["file.txt"].GetDigest(); !proto.Equal(got, digest.OfBytes(testFn, []byte("file content")).Proto()) {
		t.Errorf("file.txt digest %v", got)
	}
	links := map[string]string{}
	for _, s := range r.GetOutputSymlinks() {
		links[s.GetPath()] = s.GetTarget()
	}
	want := map[string]string{"file_link": "file.txt", "dir_link": "dir", "dangling": "nowhere"}
	if len(links) != len(want) {
		t.Errorf("output symlinks %v, want %v", links, want)
	}
	for p, target := range want {
		if links[p] != target {
			t.Errorf("symlink %s -> %q, want %q", p, links[p], target)
		}
	}
	if len(r.GetOutputFileSymlinks()) != 0 || len(r.GetOutputDirectorySymlinks()) != 0 { //nolint:staticcheck
		t.Error("deprecated symlink fields filled for an output_paths client")
	}
	dirs := map[string]*repb.OutputDirectory{}
	for _, d := range r.GetOutputDirectories() {
		dirs[d.GetPath()] = d
	}
	if len(dirs) != 2 || dirs["dir"] == nil || dirs["empty_dir"] == nil {
		t.Fatalf("output directories %v", r.GetOutputDirectories())
	}

	// Upload and read back the tree of "dir".
	store := cas.NewMemoryStore()
	if err := uploadBlobs(context.Background(), store, 4, c.uploads); err != nil {
		t.Fatal(err)
	}
	tree := &repb.Tree{}
	if err := proto.Unmarshal([]byte(readBlob(t, store, dirs["dir"].GetTreeDigest())), tree); err != nil {
		t.Fatal(err)
	}
	rootBytes, _ := proto.MarshalOptions{Deterministic: true}.Marshal(tree.GetRoot())
	if got := digest.OfBytes(testFn, rootBytes); !proto.Equal(got.Proto(), dirs["dir"].GetRootDirectoryDigest()) {
		t.Errorf("root_directory_digest %v does not match the tree root %v", dirs["dir"].GetRootDirectoryDigest(), got)
	}
	if readBlob(t, store, dirs["dir"].GetRootDirectoryDigest()) != string(rootBytes) {
		t.Error("the root Directory is not stored on its own")
	}
	rd := tree.GetRoot()
	if len(rd.GetFiles()) != 1 || rd.GetFiles()[0].GetName() != "a.txt" ||
		len(rd.GetSymlinks()) != 1 || rd.GetSymlinks()[0].GetTarget() != "a.txt" ||
		len(rd.GetDirectories()) != 2 || rd.GetDirectories()[0].GetName() != "x" || rd.GetDirectories()[1].GetName() != "y" {
		t.Errorf("tree root %v", rd)
	}
	if !proto.Equal(rd.GetDirectories()[0].GetDigest(), rd.GetDirectories()[1].GetDigest()) {
		t.Error("identical subtrees got different digests")
	}
	if len(tree.GetChildren()) != 1 {
		t.Errorf("tree has %d children, want 1 (deduplicated)", len(tree.GetChildren()))
	}
	child := tree.GetChildren()[0]
	if len(child.GetFiles()) != 2 || child.GetFiles()[0].GetName() != "run" || !child.GetFiles()[0].GetIsExecutable() {
		t.Errorf("child directory %v", child)
	}
	for _, f := range append(child.GetFiles(), rd.GetFiles()...) {
		readBlob(t, store, f.GetDigest()) // every file is uploaded
	}
}

func TestItem34_CollectLegacyOutputs(t *testing.T) {
	root := outputRoot(t)
	c, err := collectOutputs(t, root, &repb.Command{
		OutputFiles:       []string{"dangling", "file.txt", "file_link", "missing"},
		OutputDirectories: []string{"dir", "dir_link", "missing_dir"},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := c.result
	if len(r.GetOutputFiles()) != 1 || len(r.GetOutputDirectories()) != 1 {
		t.Errorf("files %v dirs %v", r.GetOutputFiles(), r.GetOutputDirectories())
	}
	fileLinks := map[string]string{}
	for _, s := range r.GetOutputFileSymlinks() { //nolint:staticcheck
		fileLinks[s.GetPath()] = s.GetTarget()
	}
	if len(fileLinks) != 2 || fileLinks["file_link"] != "file.txt" || fileLinks["dangling"] != "nowhere" {
		t.Errorf("output_file_symlinks %v", fileLinks)
	}
	if ds := r.GetOutputDirectorySymlinks(); len(ds) != 1 || ds[0].GetPath() != "dir_link" || ds[0].GetTarget() != "dir" { //nolint:staticcheck
		t.Errorf("output_directory_symlinks %v", ds)
	}
	if len(r.GetOutputSymlinks()) != 0 {
		t.Errorf("output_symlinks filled for a pre-v2.1 client: %v", r.GetOutputSymlinks())
	}
}

func TestCollectWholeWorkingDirectory(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "work"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "work", "f"), []byte("f"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := collectOutputs(t, root, &repb.Command{OutputDirectories: []string{""}})
	if err != nil {
		t.Fatal(err)
	}
	if ds := c.result.GetOutputDirectories(); len(ds) != 1 || ds[0].GetPath() != "" {
		t.Errorf("output directories %v", ds)
	}
}

func TestItem34_37_CollectRefusesWrongTypesAndEscapingSymlinks(t *testing.T) {
	root := outputRoot(t)
	for _, c := range []struct {
		name string
		cmd  *repb.Command
		want string
	}{
		{"output file is a directory", &repb.Command{OutputFiles: []string{"dir"}}, "is a directory"},
		{"output directory is a file", &repb.Command{OutputDirectories: []string{"file.txt"}}, "regular file"},
		{"output file links to a directory", &repb.Command{OutputFiles: []string{"dir_link"}}, "symlink to a directory"},
		{"output directory links to a file", &repb.Command{OutputDirectories: []string{"file_link"}}, "symlink to a file"},
		{"absolute symlink", &repb.Command{OutputPaths: []string{"abs_link"}}, "absolute"},
		{"escaping symlink", &repb.Command{OutputPaths: []string{"escaping"}}, "outside the input root"},
		{"escaping symlink in a tree", &repb.Command{OutputPaths: []string{"bad_dir"}}, "outside the input root"},
		{"output under an absolute symlink", &repb.Command{OutputPaths: []string{"parent_link/passwd"}}, "outside the input root"},
		{"legacy absolute symlink", &repb.Command{OutputFiles: []string{"abs_link"}}, "absolute"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := collectOutputs(t, root, c.cmd)
			wantCode(t, err, codes.FailedPrecondition, c.want)
		})
	}
}

func TestUploadBlobsAsksOnceAndPutsOnlyMissing(t *testing.T) {
	mem := cas.NewMemoryStore()
	store := newCountingStore(mem)
	present := putBlob(t, mem, []byte("already there"))
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("from a file"), 0o644); err != nil {
		t.Fatal(err)
	}
	fromFile := digest.OfBytes(testFn, []byte("from a file"))
	fromBytes := digest.OfBytes(testFn, []byte("from memory"))
	err := uploadBlobs(context.Background(), store, 2, []blobSource{
		{d: present, data: []byte("already there")},
		{d: fromFile, path: p},
		{d: fromFile, path: p},
		{d: fromBytes, data: []byte("from memory")},
		{d: digest.Empty(testFn), data: nil},
	})
	if err != nil {
		t.Fatal(err)
	}
	if store.findMissing != 1 {
		t.Errorf("%d FindMissing calls, want 1", store.findMissing)
	}
	if missing, _ := mem.FindMissing(context.Background(), []digest.Digest{fromFile, fromBytes}); len(missing) != 0 {
		t.Errorf("not uploaded: %v", missing)
	}
	// A file that changed since it was hashed is refused, not stored.
	if err := os.WriteFile(p, []byte("changed!!!!"), 0o644); err != nil {
		t.Fatal(err)
	}
	stale := digest.OfBytes(testFn, []byte("another content"))
	if err := uploadBlobs(context.Background(), store, 2, []blobSource{{d: stale, path: p}}); err == nil {
		t.Error("uploading a changed file succeeded")
	}
	if missing, _ := mem.FindMissing(context.Background(), []digest.Digest{stale}); len(missing) != 1 {
		t.Error("a wrong blob became visible")
	}
}
