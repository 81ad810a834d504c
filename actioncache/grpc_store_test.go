package actioncache

import (
	"context"
	"errors"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/cas"
)

func TestGRPCStoreRoundTripsThroughTheService(t *testing.T) {
	ctx := context.Background()
	blobs := cas.NewMemoryStore()
	backing := NewMemoryStore()
	remote := NewGRPCStore(startServer(t, NewServer(backing, blobs, ServerOptions{UpdateEnabled: true})))
	k := actionKey("main", "compile")

	if _, err := remote.Get(ctx, k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get before Put = %v, want ErrNotFound", err)
	}
	stdout := putBlob(t, blobs, []byte("hello\n"))
	want := &repb.ActionResult{ExitCode: 0, StdoutDigest: stdout.Proto()}
	if err := remote.Put(ctx, k, want); err != nil {
		t.Fatalf("Put: %v", err)
	}
	stored, err := backing.Get(ctx, k)
	if err != nil || !proto.Equal(stored, want) {
		t.Fatalf("the service stored %v, %v; want %v", stored, err, want)
	}
	got, err := remote.Get(ctx, k)
	if err != nil || !proto.Equal(got, want) {
		t.Errorf("Get = %v, %v; want %v", got, err, want)
	}
	// Entries are per instance: the key's instance goes with the request.
	if _, err := remote.Get(ctx, Key{Instance: "other", Action: k.Action}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get in another instance = %v, want ErrNotFound", err)
	}
}

func TestGRPCStoreReportsRefusedPuts(t *testing.T) {
	remote := NewGRPCStore(startServer(t, NewServer(NewMemoryStore(), cas.NewMemoryStore(), ServerOptions{UpdateEnabled: false})))
	err := remote.Put(context.Background(), actionKey("", "x"), &repb.ActionResult{})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("Put to a read-only action cache = %v, want PERMISSION_DENIED", err)
	}
}
