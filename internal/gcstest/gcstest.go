// Package gcstest owns the Google Cloud Storage emulator of Kiln's tests: a
// fake-gcs-server running in the test process behind a real HTTP listener
// on 127.0.0.1, so that the code under test reaches it with the real
// cloud.google.com/go/storage client over HTTP, exactly as it reaches GCS
// (only the endpoint differs). It must not hand out the fake's in-process
// client shortcut: that would skip the HTTP code path the tests are for.
package gcstest

import (
	"io"
	"slices"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// Server is a running emulator.
type Server struct {
	fake *fakestorage.Server
}

// Start runs an emulator on a free loopback port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	fake, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http",
		Host:   "127.0.0.1",
		// Port 0: the fake binds httptest's loopback listener.
		Writer: io.Discard,
	})
	if err != nil {
		t.Fatalf("starting the GCS emulator: %v", err)
	}
	t.Cleanup(fake.Stop)
	return &Server{fake: fake}
}

// Endpoint is the emulator's base URL, http://127.0.0.1:PORT, in the form
// Kiln's cas.gcs.endpoint takes.
func (s *Server) Endpoint() string { return s.fake.URL() }

// CreateBucket makes an empty bucket (a no-op if it exists). Buckets are
// set-up, not code under test, so this goes straight to the fake.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	s.fake.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: name})
}

// ObjectNames lists the names of the objects in bucket under prefix, sorted.
func (s *Server) ObjectNames(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	objs, _, err := s.fake.ListObjectsWithOptions(bucket, fakestorage.ListOptions{Prefix: prefix})
	if err != nil {
		t.Fatalf("listing gs://%s/%s: %v", bucket, prefix, err)
	}
	names := make([]string, len(objs))
	for i, o := range objs {
		names[i] = o.Name
	}
	slices.Sort(names)
	return names
}

// Object returns the content and attributes of one object; ok is false if
// it does not exist.
func (s *Server) Object(t testing.TB, bucket, name string) (obj fakestorage.Object, ok bool) {
	t.Helper()
	obj, err := s.fake.GetObject(bucket, name)
	if err != nil {
		return fakestorage.Object{}, false
	}
	return obj, true
}

// PutObject stores an object directly, bypassing the code under test: for
// tests that need a bucket in a state Kiln would not produce (damaged
// content, an old custom time).
func (s *Server) PutObject(t testing.TB, obj fakestorage.Object) {
	t.Helper()
	s.fake.CreateObject(obj)
}
