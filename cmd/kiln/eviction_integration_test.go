package main_test

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/internal/digest"
	"github.com/kilnbuild/kiln/internal/kilntest"
)

// casCap is the CAS size cap of the eviction test: small, so that a few MiB
// of uploads force evictions.
const casCap = 4 << 20

// cachedAction is one action cache entry of the eviction test and the blobs
// it references.
type cachedAction struct {
	name   string
	action digest.Digest
	blobs  []digest.Digest // output files, then stdout
}

// TestEvictionKeepsCacheHonest fills a size-capped kiln with action results
// and far more blobs than fit, then checks that the CAS stayed under its cap
// and that the action cache serves exactly the entries whose outputs all
// survived: an entry with an evicted output would make Bazel fail.
func TestEvictionKeepsCacheHonest(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end eviction test; skipped in -short mode")
	}
	kiln := kilntest.Start(t, kilntest.Options{Args: []string{fmt.Sprintf("--cas-max-size=%d", casCap)}})
	client := kiln.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rng := rand.New(rand.NewPCG(1, 2))

	// Ten entries of two 128 KiB outputs and a small stdout each (~2.5 MiB).
	var old []cachedAction
	for i := range 10 {
		old = append(old, writeCachedAction(ctx, t, client, rng, fmt.Sprintf("old-%d", i)))
	}
	// While 12 MiB (three caps) of other blobs arrive, some entries are
	// kept in use the way Bazel does it, with FindMissingBlobs: all of the
	// blobs of "kept" entries, only the first output of "half" entries. In
	// a least-recently-used store the untouched blobs must go.
	kept, half, untouched := old[:3], old[3:6], old[6:]
	for i := range 96 {
		if _, err := client.Upload(ctx, randomBytes(rng, 128<<10)); err != nil {
			t.Fatalf("uploading filler blob %d: %v", i, err)
		}
		if i%4 == 3 { // every 512 KiB of filler, far less than the cap
			var touch []digest.Digest
			for _, a := range kept {
				touch = append(touch, a.blobs...)
			}
			for _, a := range half {
				touch = append(touch, a.blobs[0])
			}
			if _, err := client.FindMissing(ctx, touch); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Entries written after the flood are the freshest of all.
	var fresh []cachedAction
	for i := range 3 {
		fresh = append(fresh, writeCachedAction(ctx, t, client, rng, fmt.Sprintf("fresh-%d", i)))
	}

	if n := blobBytes(t, kiln.DataDir); n > casCap {
		t.Errorf("blob files under %s hold %d bytes, over the cap of %d", kiln.DataDir, n, casCap)
	}
	if v, ok := kiln.Metric(t, "kiln_cas_disk_bytes"); !ok {
		t.Log("kiln_cas_disk_bytes not found on /metrics; checked the data dir only")
	} else if v > casCap || v <= 0 {
		t.Errorf("kiln_cas_disk_bytes = %v, want in (0, %d]", v, casCap)
	} else {
		t.Logf("kiln_cas_disk_bytes = %v", v)
	}

	// What the action cache serves must follow what the CAS holds. Nothing
	// is written from here on, so nothing more is evicted.
	served := map[string]bool{}
	for _, a := range append(append(append([]cachedAction{}, kept...), half...), append(untouched, fresh...)...) {
		missing, err := client.FindMissing(ctx, a.blobs)
		if err != nil {
			t.Fatal(err)
		}
		res, err := client.ActionCache.GetActionResult(ctx, &repb.GetActionResultRequest{
			ActionDigest:   a.action.Proto(),
			DigestFunction: repb.DigestFunction_SHA256,
		})
		switch {
		case len(missing) > 0 && status.Code(err) != codes.NotFound:
			t.Errorf("%s: %d of its blobs were evicted, but GetActionResult gives %v; want NOT_FOUND", a.name, len(missing), err)
		case len(missing) == 0 && err != nil:
			t.Errorf("%s: all its blobs are present, but GetActionResult fails: %v", a.name, err)
		case len(missing) == 0 && firstOutputHash(res) != a.blobs[0].Hash:
			t.Errorf("%s: GetActionResult serves another result: %v", a.name, res)
		}
		served[a.name] = len(missing) == 0 && err == nil
	}
	for _, group := range []struct {
		what    string
		actions []cachedAction
		want    bool
	}{
		{"kept in use", kept, true},
		{"written last", fresh, true},
		{"half kept in use", half, false},
		{"never used again", untouched, false},
	} {
		for _, a := range group.actions {
			if served[a.name] != group.want {
				t.Errorf("entry %s (%s): served = %v, want %v (least recently used blobs go first)", a.name, group.what, served[a.name], group.want)
			}
		}
	}
}

// writeCachedAction uploads two outputs and a stdout, then stores an
// action result that references them under a fresh action digest.
func writeCachedAction(ctx context.Context, t *testing.T, client *kilntest.Client, rng *rand.Rand, name string) cachedAction {
	t.Helper()
	a := cachedAction{name: name, action: kilntest.Digest([]byte("action " + name))}
	for _, size := range []int{128 << 10, 128 << 10, 1 << 10} {
		d, err := client.Upload(ctx, randomBytes(rng, size))
		if err != nil {
			t.Fatalf("%s: uploading an output: %v", name, err)
		}
		a.blobs = append(a.blobs, d)
	}
	result := &repb.ActionResult{
		OutputFiles: []*repb.OutputFile{
			{Path: "out/a", Digest: a.blobs[0].Proto()},
			{Path: "out/b", Digest: a.blobs[1].Proto()},
		},
		StdoutDigest: a.blobs[2].Proto(),
	}
	if _, err := client.ActionCache.UpdateActionResult(ctx, &repb.UpdateActionResultRequest{
		ActionDigest:   a.action.Proto(),
		ActionResult:   result,
		DigestFunction: repb.DigestFunction_SHA256,
	}); err != nil {
		t.Fatalf("%s: UpdateActionResult: %v", name, err)
	}
	return a
}

func firstOutputHash(r *repb.ActionResult) string {
	if len(r.GetOutputFiles()) == 0 {
		return ""
	}
	return r.GetOutputFiles()[0].GetDigest().GetHash()
}

// blobBytes sums the sizes of the blob files in kiln's data directory.
// cas/disk_store_layout.go puts them under cas/blobs; uploads in progress
// and files being evicted live elsewhere (cas/tmp).
func blobBytes(t *testing.T, dataDir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(filepath.Join(dataDir, "cas", "blobs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	if err != nil {
		t.Fatalf("walking the blob files: %v", err)
	}
	return n
}
