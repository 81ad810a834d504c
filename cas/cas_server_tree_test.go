package cas

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/internal/digest"
)

// putDir stores dir and returns its digest.
func putDir(t testing.TB, s BlobStore, dir *repb.Directory) digest.Digest {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(dir)
	if err != nil {
		t.Fatal(err)
	}
	return put(t, s, b)
}

func dirDigest(t testing.TB, dir *repb.Directory) digest.Digest {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(dir)
	if err != nil {
		t.Fatal(err)
	}
	return sha256Of(b)
}

func node(name string, d digest.Digest) *repb.DirectoryNode {
	return &repb.DirectoryNode{Name: name, Digest: d.Proto()}
}

type treePage struct {
	dirs  []*repb.Directory
	token string
}

func getTree(ctx context.Context, env *testEnv, req *repb.GetTreeRequest) ([]treePage, error) {
	stream, err := env.cas.GetTree(ctx, req)
	if err != nil {
		return nil, err
	}
	var pages []treePage
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return pages, nil
		}
		if err != nil {
			return pages, err
		}
		pages = append(pages, treePage{resp.Directories, resp.NextPageToken})
	}
}

// names lists the first file name of each directory, which the tests use
// as the directory's label.
func names(pages []treePage) string {
	var out []string
	for _, p := range pages {
		for _, d := range p.dirs {
			if len(d.Files) > 0 {
				out = append(out, d.Files[0].Name)
			} else {
				out = append(out, "?")
			}
		}
	}
	return strings.Join(out, ",")
}

func labelled(label string, children ...*repb.DirectoryNode) *repb.Directory {
	return &repb.Directory{
		Files:       []*repb.FileNode{{Name: label, Digest: sha256Of([]byte(label)).Proto()}},
		Directories: children,
	}
}

// buildTree stores root{a{c, d}, b{e}} and returns the root's digest.
func buildTree(t testing.TB, s BlobStore, skip ...string) digest.Digest {
	t.Helper()
	store := func(label string, children ...*repb.DirectoryNode) digest.Digest {
		dir := labelled(label, children...)
		for _, sk := range skip {
			if sk == label {
				return dirDigest(t, dir)
			}
		}
		return putDir(t, s, dir)
	}
	c, d, e := store("c"), store("d"), store("e")
	a := store("a", node("c", c), node("d", d))
	b := store("b", node("e", e))
	return store("root", node("a", a), node("b", b))
}

func TestItem12_GetTreeStreamsBreadthFirst(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, NewMemoryStore())
	root := buildTree(t, env.store)
	pages, err := getTree(ctx, env, &repb.GetTreeRequest{RootDigest: root.Proto()})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(pages); got != "root,a,b,c,d,e" {
		t.Errorf("directories = %s, want root,a,b,c,d,e", got)
	}
	if len(pages) != 1 || pages[0].token != "" {
		t.Errorf("one page with an empty token expected, got %d pages, last token %q", len(pages), pages[len(pages)-1].token)
	}
}

func TestItem12_GetTreeRootMissingIsNotFound(t *testing.T) {
	env := newTestEnv(t, NewMemoryStore())
	_, err := getTree(context.Background(), env, &repb.GetTreeRequest{RootDigest: sha256Of([]byte("nope")).Proto()})
	wantCode(t, err, codes.NotFound, "GetTree of a missing root")

	notDir := put(t, env.store, []byte{0xff, 0xff, 0xff})
	_, err = getTree(context.Background(), env, &repb.GetTreeRequest{RootDigest: notDir.Proto()})
	wantCode(t, err, codes.InvalidArgument, "GetTree of a root that is not a Directory")
}

func TestItem12_GetTreeLeavesMissingSubtreesOut(t *testing.T) {
	env := newTestEnv(t, NewMemoryStore())
	root := buildTree(t, env.store, "a")
	pages, err := getTree(context.Background(), env, &repb.GetTreeRequest{RootDigest: root.Proto()})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(pages); got != "root,b,e" {
		t.Errorf("directories = %s, want root,b,e (a and its subtree missing)", got)
	}
}

func TestItem12_GetTreePagesAndTokens(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, NewMemoryStore())
	root := buildTree(t, env.store)
	pages, err := getTree(ctx, env, &repb.GetTreeRequest{RootDigest: root.Proto(), PageSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 2 || len(pages[0].dirs) != 4 || len(pages[1].dirs) != 2 {
		t.Fatalf("page_size 4 over 6 directories: got %d pages", len(pages))
	}
	if pages[0].token == "" || pages[1].token != "" {
		t.Errorf("tokens = %q, %q; want a token, then an empty one", pages[0].token, pages[1].token)
	}
	// A token resumes right after its page, as after a broken stream.
	rest, err := getTree(ctx, env, &repb.GetTreeRequest{RootDigest: root.Proto(), PageSize: 1, PageToken: pages[0].token})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(rest); got != "d,e" || len(rest) != 2 {
		t.Errorf("resumed: %s in %d pages, want d,e in 2", got, len(rest))
	}

	_, err = getTree(ctx, env, &repb.GetTreeRequest{RootDigest: root.Proto(), PageToken: "garbage!"})
	wantCode(t, err, codes.InvalidArgument, "a token that was never handed out")
	other := putDir(t, env.store, labelled("other"))
	_, err = getTree(ctx, env, &repb.GetTreeRequest{RootDigest: other.Proto(), PageToken: pages[0].token})
	wantCode(t, err, codes.InvalidArgument, "a token of another tree")
	_, err = getTree(ctx, env, &repb.GetTreeRequest{RootDigest: root.Proto(), PageSize: -1})
	wantCode(t, err, codes.InvalidArgument, "a negative page_size")
}

func TestItem12_GetTreeBoundsMessageSize(t *testing.T) {
	env := newTestEnv(t, NewMemoryStore())
	// 40 directories of ~200 KiB each: 8 MiB, which page_size 0 must not
	// put in one message.
	var children []*repb.DirectoryNode
	for i := range 40 {
		dir := labelled(fmt.Sprintf("big%02d", i))
		dir.Files[0].Name += strings.Repeat("x", 200<<10)
		children = append(children, node(fmt.Sprintf("d%02d", i), putDir(t, env.store, dir)))
	}
	root := putDir(t, env.store, labelled("root", children...))
	pages, err := getTree(context.Background(), env, &repb.GetTreeRequest{RootDigest: root.Proto()})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i, p := range pages {
		size := proto.Size(&repb.GetTreeResponse{Directories: p.dirs, NextPageToken: p.token})
		if size > 4<<20 {
			t.Errorf("page %d is %d bytes, over 4 MiB", i, size)
		}
		if (p.token == "") != (i == len(pages)-1) {
			t.Errorf("page %d of %d has token %q", i, len(pages), p.token)
		}
		total += len(p.dirs)
	}
	if total != 41 || len(pages) < 2 {
		t.Errorf("got %d directories in %d pages, want 41 in several", total, len(pages))
	}
}

func TestItem04_GetTreeReturnsNonCanonicalDirectoriesAsStored(t *testing.T) {
	// The server may reject non-canonical protos; GetTree does not: it
	// returns what the client stored, children in stored order, so that
	// the client sees its own data.
	env := newTestEnv(t, NewMemoryStore())
	z := putDir(t, env.store, labelled("z"))
	a := putDir(t, env.store, labelled("a"))
	unsorted := labelled("root", node("z", z), node("a", a))
	root := putDir(t, env.store, unsorted)
	pages, err := getTree(context.Background(), env, &repb.GetTreeRequest{RootDigest: root.Proto()})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(pages); got != "root,z,a" {
		t.Errorf("directories = %s, want root,z,a (stored order)", got)
	}
	if !proto.Equal(pages[0].dirs[0], unsorted) {
		t.Error("the root came back changed")
	}
}

func TestGetTreeVisitsSharedSubtreesOnce(t *testing.T) {
	env := newTestEnv(t, NewMemoryStore())
	shared := putDir(t, env.store, labelled("shared"))
	root := putDir(t, env.store, labelled("root", node("x", shared), node("y", shared)))
	pages, err := getTree(context.Background(), env, &repb.GetTreeRequest{RootDigest: root.Proto()})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(pages); got != "root,shared" {
		t.Errorf("directories = %s, want root,shared", got)
	}
}
