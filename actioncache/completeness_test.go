package actioncache

import (
	"context"
	"errors"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

// fixture is a CAS holding every blob of a complete result with an output
// file, stdout, stderr and an output directory with a subdirectory.
type fixture struct {
	blobs  *countingBlobStore
	result *repb.ActionResult
	// file, stdout, stderr, tree, rootFile, childFile name the blobs.
	file, stdout, stderr, tree, rootFile, childFile digest.Digest
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{blobs: &countingBlobStore{BlobStore: cas.NewMemoryStore()}}
	f.file = putBlob(t, f.blobs, []byte("output file"))
	f.stdout = putBlob(t, f.blobs, []byte("stdout text"))
	f.stderr = putBlob(t, f.blobs, []byte("stderr text"))
	f.rootFile = putBlob(t, f.blobs, []byte("file in the tree root"))
	f.childFile = putBlob(t, f.blobs, []byte("file in a tree child"))
	f.tree = f.putTree(t, f.rootFile, f.childFile)
	f.result = f.resultWith(f.file, f.stdout, f.stderr, f.tree)
	return f
}

// putTree stores a Tree whose root holds rootFile and a subdirectory "sub"
// holding childFile.
func (f *fixture) putTree(t *testing.T, rootFile, childFile digest.Digest) digest.Digest {
	t.Helper()
	child := &repb.Directory{Files: []*repb.FileNode{fileNode("c.txt", childFile)}}
	childDigest := digest.OfBytes(fnSHA256, marshal(t, child))
	tree := &repb.Tree{
		Root: &repb.Directory{
			Files:       []*repb.FileNode{fileNode("r.txt", rootFile)},
			Directories: []*repb.DirectoryNode{{Name: "sub", Digest: childDigest.Proto()}},
		},
		Children: []*repb.Directory{child},
	}
	return putBlob(t, f.blobs, marshal(t, tree))
}

func (f *fixture) resultWith(file, stdout, stderr, tree digest.Digest) *repb.ActionResult {
	return &repb.ActionResult{
		OutputFiles:       []*repb.OutputFile{{Path: "out/file", Digest: file.Proto()}},
		OutputDirectories: []*repb.OutputDirectory{{Path: "out/dir", TreeDigest: tree.Proto()}},
		StdoutDigest:      stdout.Proto(),
		StderrDigest:      stderr.Proto(),
	}
}

// checkedStore stores r under k in a memory store behind the decorator.
func (f *fixture) checkedStore(t *testing.T, k Key, r *repb.ActionResult, opts CompletenessOptions) Store {
	t.Helper()
	base := NewMemoryStore()
	if err := base.Put(context.Background(), k, r); err != nil {
		t.Fatal(err)
	}
	return NewCompletenessChecking(base, f.blobs, opts)
}

func TestCompletenessServesCompleteResultWithOneFindMissing(t *testing.T) {
	f := newFixture(t)
	k := actionKey("", "complete")
	s := f.checkedStore(t, k, f.result, CompletenessOptions{})
	if _, err := s.Get(context.Background(), k); err != nil {
		t.Fatalf("Get of a complete result: %v", err)
	}
	if f.blobs.calls != 1 {
		t.Errorf("FindMissing called %d times, want one batched call", f.blobs.calls)
	}
	asked := map[digest.Digest]bool{}
	for _, d := range f.blobs.asked {
		asked[d] = true
	}
	// Asking is what refreshes lifetimes, so every blob must be asked about.
	for name, d := range map[string]digest.Digest{"file": f.file, "stdout": f.stdout, "stderr": f.stderr,
		"tree": f.tree, "tree root file": f.rootFile, "tree child file": f.childFile} {
		if !asked[d] {
			t.Errorf("FindMissing was not asked about the %s", name)
		}
	}
}

func TestCompletenessHidesResultWithMissingBlob(t *testing.T) {
	gone := blobDigest("never uploaded")
	for _, tc := range []struct {
		name   string
		result func(t *testing.T, f *fixture) *repb.ActionResult
	}{
		{"output file", func(t *testing.T, f *fixture) *repb.ActionResult {
			return f.resultWith(gone, f.stdout, f.stderr, f.tree)
		}},
		{"stdout", func(t *testing.T, f *fixture) *repb.ActionResult { return f.resultWith(f.file, gone, f.stderr, f.tree) }},
		{"stderr", func(t *testing.T, f *fixture) *repb.ActionResult { return f.resultWith(f.file, f.stdout, gone, f.tree) }},
		{"tree", func(t *testing.T, f *fixture) *repb.ActionResult {
			return f.resultWith(f.file, f.stdout, f.stderr, gone)
		}},
		{"file in tree root", func(t *testing.T, f *fixture) *repb.ActionResult {
			return f.resultWith(f.file, f.stdout, f.stderr, f.putTree(t, gone, f.childFile))
		}},
		{"file in tree child", func(t *testing.T, f *fixture) *repb.ActionResult {
			return f.resultWith(f.file, f.stdout, f.stderr, f.putTree(t, f.rootFile, gone))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			k := actionKey("", tc.name)
			s := f.checkedStore(t, k, tc.result(t, f), CompletenessOptions{})
			_, err := s.Get(context.Background(), k)
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestCompletenessTreatsUnsetStdoutDigestAsAbsent(t *testing.T) {
	f := newFixture(t)
	r := f.resultWith(f.file, f.stdout, f.stderr, f.tree)
	r.StdoutDigest = &repb.Digest{} // as some clients send for "no output"
	r.StderrDigest = nil
	k := actionKey("", "no stdout")
	if _, err := f.checkedStore(t, k, r, CompletenessOptions{}).Get(context.Background(), k); err != nil {
		t.Fatalf("Get: %v", err)
	}
}

func TestCompletenessHidesUncheckableResults(t *testing.T) {
	f := newFixture(t)
	notATree := putBlob(t, f.blobs, []byte{0x0a, 0x05, 0x01}) // a record cut short
	for _, tc := range []struct {
		name   string
		result *repb.ActionResult
		opts   CompletenessOptions
	}{
		{"malformed tree", f.resultWith(f.file, f.stdout, f.stderr, notATree), CompletenessOptions{}},
		{"bad stored digest", &repb.ActionResult{OutputFiles: []*repb.OutputFile{{Path: "a", Digest: &repb.Digest{Hash: "xyz", SizeBytes: 1}}}}, CompletenessOptions{}},
		{"too many blobs", f.result, CompletenessOptions{MaxReferencedBlobs: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := actionKey("", tc.name)
			_, err := f.checkedStore(t, k, tc.result, tc.opts).Get(context.Background(), k)
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get = %v, want ErrNotFound", err)
			}
			if errors.Is(err, digest.ErrInvalid) {
				t.Errorf("Get = %v: a stored entry's fault must not read as an invalid request", err)
			}
		})
	}
}

func TestCompletenessReportsCASFailureAsError(t *testing.T) {
	f := newFixture(t)
	f.blobs.findErr = errors.New("backend down")
	k := actionKey("", "cas down")
	_, err := f.checkedStore(t, k, f.result, CompletenessOptions{}).Get(context.Background(), k)
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Get = %v, want a failure that is not a miss", err)
	}
}

func TestCompletenessPassesMissesAndPutsThrough(t *testing.T) {
	f := newFixture(t)
	s := NewCompletenessChecking(NewMemoryStore(), f.blobs, CompletenessOptions{})
	k := actionKey("", "through")
	if _, err := s.Get(context.Background(), k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get before Put = %v, want ErrNotFound", err)
	}
	if err := s.Put(context.Background(), k, f.result); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(context.Background(), k); err != nil {
		t.Fatalf("Get after Put: %v", err)
	}
}
