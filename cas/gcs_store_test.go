package cas_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/cas/blobstoretest"
	"github.com/kilnbuild/kiln/internal/digest"
	"github.com/kilnbuild/kiln/internal/gcstest"
)

const testBucket = "kiln-test"

// newGCSStore returns a store on a fresh bucket of its own emulator,
// reached through the real client over HTTP.
func newGCSStore(t *testing.T, prefix string) (*cas.GCSStore, *gcstest.Server) {
	t.Helper()
	srv := gcstest.Start(t)
	srv.CreateBucket(t, testBucket)
	client, err := cas.NewGCSClient(context.Background(), srv.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return cas.NewGCSStore(client.Bucket(testBucket), cas.GCSStoreOptions{Prefix: prefix}), srv
}

func TestGCSStoreConformance(t *testing.T) {
	blobstoretest.Run(t, func(t *testing.T) cas.BlobStore {
		s, _ := newGCSStore(t, "cas")
		return s
	})
}

func TestGCSStoreNamesObjectsByPrefixFunctionHashAndSize(t *testing.T) {
	s, srv := newGCSStore(t, "/team/cas/")
	ctx := context.Background()
	content := []byte("named blob")
	sha := digest.OfBytes(repb.DigestFunction_SHA256, content)
	b3 := digest.OfBytes(repb.DigestFunction_BLAKE3, content)
	for _, d := range []digest.Digest{sha, b3} {
		if err := s.Put(ctx, d, bytes.NewReader(content)); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"team/cas/blake3/" + b3.Hash + "-10",
		"team/cas/sha256/" + sha.Hash + "-10",
	}
	if got := srv.ObjectNames(t, testBucket, ""); !slices.Equal(got, want) {
		t.Errorf("objects = %q, want %q", got, want)
	}
}

// Failed uploads must leave nothing in the bucket, not even a temporary
// object: GCS only creates an object when its upload is finalized.
func TestGCSStoreFailedPutsLeaveNoObject(t *testing.T) {
	s, srv := newGCSStore(t, "")
	ctx := context.Background()
	small := []byte("small blob")
	large := bytes.Repeat([]byte("0123456789abcdef"), (20<<20)/16+3) // several upload chunks
	broken := errors.New("client went away")
	for _, content := range [][]byte{small, large} {
		d := digest.OfBytes(repb.DigestFunction_SHA256, content)
		wrong := bytes.Clone(content)
		wrong[len(wrong)-1] ^= 1
		for name, r := range map[string]io.Reader{
			"wrong bytes":         bytes.NewReader(wrong),
			"one byte short":      bytes.NewReader(content[:len(content)-1]),
			"one byte extra":      io.MultiReader(bytes.NewReader(content), strings.NewReader("x")),
			"error after all":     io.MultiReader(bytes.NewReader(content), &failAfter{broken}),
			"error in the middle": io.MultiReader(bytes.NewReader(content[:len(content)/2]), &failAfter{broken}),
		} {
			if err := s.Put(ctx, d, r); err == nil {
				t.Errorf("Put of %d bytes, %s: succeeded", len(content), name)
			}
			if names := srv.ObjectNames(t, testBucket, ""); len(names) != 0 {
				t.Fatalf("after a failed Put of %d bytes (%s) the bucket holds %q", len(content), name, names)
			}
		}
	}
}

type failAfter struct{ err error }

func (r *failAfter) Read([]byte) (int, error) { return 0, r.err }

func TestGCSStoreFindMissingExtendsOnlyStaleLifetimes(t *testing.T) {
	s, srv := newGCSStore(t, "")
	stale := digest.OfBytes(repb.DigestFunction_SHA256, []byte("stale"))
	fresh := digest.OfBytes(repb.DigestFunction_SHA256, []byte("fresh"))
	longAgo := time.Now().Add(-3 * cas.DefaultGCSTouchInterval).UTC().Truncate(time.Second)
	recently := time.Now().Add(-cas.DefaultGCSTouchInterval / 2).UTC().Truncate(time.Second)
	for _, o := range []struct {
		d    digest.Digest
		when time.Time
	}{{stale, longAgo}, {fresh, recently}} {
		srv.PutObject(t, fakestorage.Object{
			ObjectAttrs: fakestorage.ObjectAttrs{
				BucketName: testBucket, Name: "sha256/" + o.d.Hash + "-5", CustomTime: o.when,
			},
			Content: []byte(o.d.Hash)[:5],
		})
	}
	before := time.Now().Add(-time.Minute)
	missing, err := s.FindMissing(context.Background(), []digest.Digest{stale, fresh})
	if err != nil || len(missing) != 0 {
		t.Fatalf("FindMissing = %v, %v; want both present", missing, err)
	}
	if obj, _ := srv.Object(t, testBucket, "sha256/"+stale.Hash+"-5"); obj.CustomTime.Before(before) {
		t.Errorf("stale blob's custom time is still %v after FindMissing, want about now", obj.CustomTime)
	}
	if obj, _ := srv.Object(t, testBucket, "sha256/"+fresh.Hash+"-5"); !obj.CustomTime.Equal(recently) {
		t.Errorf("fresh blob's custom time moved from %v to %v; touches must be rate-limited", recently, obj.CustomTime)
	}
}

func TestGCSStorePutSetsTheCustomTime(t *testing.T) {
	s, srv := newGCSStore(t, "")
	before := time.Now().Add(-time.Minute)
	content := []byte("new blob")
	d := digest.OfBytes(repb.DigestFunction_SHA256, content)
	if err := s.Put(context.Background(), d, bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	obj, ok := srv.Object(t, testBucket, "sha256/"+d.Hash+"-8")
	if !ok || obj.CustomTime.Before(before) {
		t.Errorf("custom time of a new blob = %v (exists %v), want about now", obj.CustomTime, ok)
	}
}

func TestGCSStoreTreatsAWrongSizedObjectAsMissing(t *testing.T) {
	s, srv := newGCSStore(t, "")
	d := digest.OfBytes(repb.DigestFunction_SHA256, []byte("the real content"))
	srv.PutObject(t, fakestorage.Object{
		ObjectAttrs: fakestorage.ObjectAttrs{BucketName: testBucket, Name: "sha256/" + d.Hash + "-16"},
		Content:     []byte("truncated"),
	})
	missing, err := s.FindMissing(context.Background(), []digest.Digest{d})
	if err != nil || len(missing) != 1 {
		t.Errorf("FindMissing of a damaged blob = %v, %v; want it missing", missing, err)
	}
	if _, err := s.Get(context.Background(), d, 0, 0); !errors.Is(err, cas.ErrNotFound) {
		t.Errorf("Get of a damaged blob = %v, want ErrNotFound", err)
	}
}

func TestGCSStoreFindMissingAsksOncePerDigest(t *testing.T) {
	s, _ := newGCSStore(t, "")
	present := digest.OfBytes(repb.DigestFunction_SHA256, []byte("present"))
	absent := digest.OfBytes(repb.DigestFunction_SHA256, []byte("absent"))
	if err := s.Put(context.Background(), present, bytes.NewReader([]byte("present"))); err != nil {
		t.Fatal(err)
	}
	query := []digest.Digest{absent, present, absent, digest.Empty(repb.DigestFunction_SHA256), present, absent}
	got, err := s.FindMissing(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	if want := []digest.Digest{absent, absent, absent}; !slices.Equal(got, want) {
		t.Errorf("FindMissing with repeats = %v, want every absent entry in order", got)
	}
}

func TestNewGCSClientRejectsEndpointsThatAreNoURLs(t *testing.T) {
	for _, e := range []string{"localhost:4443", "ftp://x/", "http://"} {
		if _, err := cas.NewGCSClient(context.Background(), e); err == nil || !strings.Contains(err.Error(), "endpoint") {
			t.Errorf("NewGCSClient(%q) = %v, want an error naming the endpoint", e, err)
		}
	}
}

func TestGCSStoreCheckAccessNamesAMissingBucket(t *testing.T) {
	s, srv := newGCSStore(t, "cas")
	if err := s.CheckAccess(context.Background()); err != nil {
		t.Errorf("CheckAccess on an existing bucket: %v", err)
	}
	client, err := cas.NewGCSClient(context.Background(), srv.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	missing := cas.NewGCSStore(client.Bucket("no-such-bucket"), cas.GCSStoreOptions{})
	if err := missing.CheckAccess(context.Background()); err == nil || !strings.Contains(err.Error(), "no-such-bucket") {
		t.Errorf("CheckAccess on a missing bucket = %v, want an error naming it", err)
	}
}
