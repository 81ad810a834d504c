package bazeltest

import (
	"net"
	"testing"

	"google.golang.org/grpc"

	"github.com/kilnbuild/kiln/actioncache"
	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/capabilities"
)

// startInProcessCache serves Kiln's cache services over memory stores on
// 127.0.0.1 until t ends and returns the address. It lets the harness be
// tested without building the kiln binary; cmd/kiln tests the real process.
func startInProcessCache(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	blobs := cas.NewMemoryStore()
	results := actioncache.NewCompletenessChecking(actioncache.NewMemoryStore(), blobs, actioncache.CompletenessOptions{})
	s := grpc.NewServer()
	cas.NewCASServer(blobs, cas.CASServerOptions{}).Register(s)
	byteStream := cas.NewByteStreamServer(blobs, cas.ByteStreamServerOptions{})
	byteStream.Register(s)
	actioncache.NewServer(results, blobs, actioncache.ServerOptions{UpdateEnabled: true}).Register(s)
	capabilities.NewServer(capabilities.Options{UpdateEnabled: true}).Register(s)
	go s.Serve(lis)
	t.Cleanup(func() {
		s.Stop()
		byteStream.Close()
	})
	return lis.Addr().String()
}
