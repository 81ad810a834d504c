package actioncache

import (
	"context"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/cas"
)

// sharingStore hands out its own pointer, as a caching backend might.
type sharingStore struct{ r *repb.ActionResult }

func (s *sharingStore) Get(context.Context, Key) (*repb.ActionResult, error) { return s.r, nil }
func (s *sharingStore) Put(context.Context, Key, *repb.ActionResult) error   { return nil }

func TestGetActionResultNeverMutatesTheStoredResult(t *testing.T) {
	blobs := cas.NewMemoryStore()
	out := putBlob(t, blobs, []byte("out"))
	shared := &repb.ActionResult{StdoutDigest: out.Proto(), OutputFiles: []*repb.OutputFile{{Path: "f", Digest: out.Proto()}}}
	srv := NewServer(&sharingStore{shared}, blobs, ServerOptions{})
	got, err := srv.GetActionResult(context.Background(), &repb.GetActionResultRequest{
		ActionDigest: blobDigest("a").Proto(), InlineStdout: true, InlineOutputFiles: []string{"f"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(got.StdoutRaw) != "out" || string(got.OutputFiles[0].Contents) != "out" {
		t.Fatalf("not inlined: %v", got)
	}
	if shared.StdoutRaw != nil || shared.OutputFiles[0].Contents != nil {
		t.Errorf("the stored result was modified in place: %v", shared)
	}
}

func TestGetActionResultTreatsBlobVanishedBeforeInliningAsMiss(t *testing.T) {
	blobs := cas.NewMemoryStore()
	// Not completeness-checked, so only the inlining notices the gap.
	srv := NewServer(&sharingStore{&repb.ActionResult{StdoutDigest: blobDigest("gone").Proto()}}, blobs, ServerOptions{})
	_, err := srv.GetActionResult(context.Background(), &repb.GetActionResultRequest{ActionDigest: blobDigest("a").Proto(), InlineStdout: true})
	if status.Code(err) != codes.NotFound {
		t.Errorf("status = %v, want NotFound", err)
	}
}
