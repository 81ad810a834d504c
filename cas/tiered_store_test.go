package cas_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"sync"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/cas/blobstoretest"
	"github.com/kilnbuild/kiln/internal/digest"
)

func TestTieredStoreConformanceMemoryOverGCS(t *testing.T) {
	blobstoretest.Run(t, func(t *testing.T) cas.BlobStore {
		slow, _ := newGCSStore(t, "cas")
		return cas.NewTieredStore(cas.NewMemoryStore(), slow, cas.TieredStoreOptions{})
	})
}

func TestTieredStoreConformanceDiskOverGCS(t *testing.T) {
	blobstoretest.Run(t, func(t *testing.T) cas.BlobStore {
		slow, _ := newGCSStore(t, "cas")
		return cas.NewTieredStore(openTierDisk(t, t.TempDir(), 0), slow, cas.TieredStoreOptions{})
	})
}

// Blobs larger than the fast disk still go through: the tier is a cache.
func TestTieredStoreConformanceTinyDiskOverMemory(t *testing.T) {
	blobstoretest.Run(t, func(t *testing.T) cas.BlobStore {
		return cas.NewTieredStore(openTierDisk(t, t.TempDir(), 4096), cas.NewMemoryStore(), cas.TieredStoreOptions{})
	})
}

func openTierDisk(t *testing.T, dir string, maxSize int64) *cas.DiskStore {
	t.Helper()
	s, err := cas.NewDiskStore(context.Background(), dir, cas.DiskStoreOptions{MaxSizeBytes: maxSize})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// probeStore wraps a store, records what FindMissing was asked, and fails
// Puts (after reading everything) while failPuts is set.
type probeStore struct {
	cas.BlobStore
	mu       sync.Mutex
	asked    []digest.Digest
	failPuts error
	lost     map[digest.Digest]bool // reported missing although stored
}

func newProbeStore() *probeStore {
	return &probeStore{BlobStore: cas.NewMemoryStore(), lost: map[digest.Digest]bool{}}
}

func (p *probeStore) FindMissing(ctx context.Context, ds []digest.Digest) ([]digest.Digest, error) {
	p.mu.Lock()
	p.asked = append(p.asked, ds...)
	lost := maps.Clone(p.lost)
	p.mu.Unlock()
	missing, err := p.BlobStore.FindMissing(ctx, ds)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if lost[d] && !slices.Contains(missing, d) {
			missing = append(missing, d)
		}
	}
	return missing, nil
}

func (p *probeStore) Put(ctx context.Context, d digest.Digest, r io.Reader) error {
	p.mu.Lock()
	fail := p.failPuts
	p.mu.Unlock()
	if fail != nil {
		io.Copy(io.Discard, r) // every byte went by, and still it fails
		return fail
	}
	return p.BlobStore.Put(ctx, d, r)
}

func (p *probeStore) takeAsked() []digest.Digest {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.asked
	p.asked = nil
	return a
}

func readRange(t *testing.T, s cas.BlobStore, d digest.Digest, offset, limit int64) []byte {
	t.Helper()
	rc, err := s.Get(context.Background(), d, offset, limit)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTieredStoreReadThroughFillsTheFastStore(t *testing.T) {
	fast, slow := cas.NewMemoryStore(), cas.NewMemoryStore()
	s := cas.NewTieredStore(fast, slow, cas.TieredStoreOptions{})
	content := bytes.Repeat([]byte("read through "), 10000)
	d := digest.OfBytes(repb.DigestFunction_SHA256, content)
	if err := slow.Put(context.Background(), d, bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}

	if got := readRange(t, s, d, 10, 100); !bytes.Equal(got, content[10:110]) {
		t.Fatal("ranged read through the tier returned other bytes")
	}
	if has(t, fast, d) {
		t.Error("a ranged read filled the fast store")
	}

	rc, err := s.Get(context.Background(), d, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(io.Discard, rc, 100); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if has(t, fast, d) {
		t.Error("a read abandoned half way filled the fast store")
	}

	if got := readRange(t, s, d, 0, 0); !bytes.Equal(got, content) {
		t.Fatal("whole read through the tier returned other bytes")
	}
	if !has(t, fast, d) {
		t.Fatal("a whole read from the slow store did not fill the fast one")
	}
	if got := readRange(t, fast, d, 0, 0); !bytes.Equal(got, content) {
		t.Error("the fast store holds other bytes than the blob's")
	}
}

// The slow store is the durable one: a blob is never left in the fast
// store (where FindMissing would call it present) by a Put that failed.
func TestTieredStorePutFailsAndPublishesNothingWhenTheSlowStoreFails(t *testing.T) {
	fast, slow := cas.NewMemoryStore(), newProbeStore()
	s := cas.NewTieredStore(fast, slow, cas.TieredStoreOptions{})
	errGCSDown := errors.New("slow store unavailable")
	slow.failPuts = errGCSDown
	content := []byte("must be durable first")
	d := digest.OfBytes(repb.DigestFunction_SHA256, content)
	if err := s.Put(context.Background(), d, bytes.NewReader(content)); !errors.Is(err, errGCSDown) {
		t.Fatalf("Put = %v, want the slow store's error", err)
	}
	if has(t, fast, d) || has(t, s, d) {
		t.Fatal("a Put that the slow store refused left the blob visible")
	}

	slow.failPuts = nil
	if err := s.Put(context.Background(), d, bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	if !has(t, fast, d) || !has(t, slow, d) {
		t.Errorf("after a successful Put: in fast %v, in slow %v; want both", has(t, fast, d), has(t, slow, d))
	}
}

func TestTieredStorePutSucceedsWhenOnlyTheFastStoreFails(t *testing.T) {
	fast, slow := newProbeStore(), cas.NewMemoryStore()
	fast.failPuts = errors.New("disk full")
	s := cas.NewTieredStore(fast, slow, cas.TieredStoreOptions{})
	content := []byte("the cache is optional")
	d := digest.OfBytes(repb.DigestFunction_SHA256, content)
	if err := s.Put(context.Background(), d, bytes.NewReader(content)); err != nil {
		t.Fatalf("Put = %v, want success with the blob in the slow store", err)
	}
	if !has(t, slow, d) {
		t.Error("the slow store does not have the blob")
	}
}

func TestTieredStoreFindMissingAsksTheSlowStoreOnlyWhatItMust(t *testing.T) {
	fast, slow := cas.NewMemoryStore(), newProbeStore()
	s := cas.NewTieredStore(fast, slow, cas.TieredStoreOptions{})
	ctx := context.Background()
	put := func(st cas.BlobStore, b string) digest.Digest {
		d := digest.OfBytes(repb.DigestFunction_SHA256, []byte(b))
		if err := st.Put(ctx, d, bytes.NewReader([]byte(b))); err != nil {
			t.Fatal(err)
		}
		return d
	}
	both := put(s, "in both")                 // confirmed by the Put itself
	onlySlow := put(slow, "only in the slow") // the fast store lost it
	inFastUnconfirmed := put(fast, "in fast, never confirmed")
	put(slow, "in fast, never confirmed")
	absent := digest.OfBytes(repb.DigestFunction_SHA256, []byte("nowhere"))
	slow.takeAsked()

	query := []digest.Digest{both, onlySlow, inFastUnconfirmed, absent}
	missing, err := s.FindMissing(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(missing, []digest.Digest{absent}) {
		t.Errorf("FindMissing = %v, want only %v", missing, absent)
	}
	if asked := slow.takeAsked(); !slices.Equal(asked, []digest.Digest{onlySlow, inFastUnconfirmed, absent}) {
		t.Errorf("the slow store was asked about %v; want what the fast store lacks and what it never confirmed", asked)
	}

	// Within the refresh interval, what is in the fast store and was
	// confirmed is not asked about again.
	if _, err := s.FindMissing(ctx, query); err != nil {
		t.Fatal(err)
	}
	if asked := slow.takeAsked(); !slices.Equal(asked, []digest.Digest{onlySlow, absent}) {
		t.Errorf("second FindMissing asked the slow store about %v, want only what the fast store lacks", asked)
	}
}

// A blob the slow store lost is missing, even while the fast store still
// has it: the client must upload it again to make it durable.
func TestTieredStoreReportsBlobsTheSlowStoreLostOnRefresh(t *testing.T) {
	fast, slow := cas.NewMemoryStore(), newProbeStore()
	s := cas.NewTieredStore(fast, slow, cas.TieredStoreOptions{RefreshInterval: -1})
	content := []byte("expired from the bucket")
	d := digest.OfBytes(repb.DigestFunction_SHA256, content)
	if err := s.Put(context.Background(), d, bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	slow.lost[d] = true
	if has(t, s, d) {
		t.Error("FindMissing calls a blob present that only the fast store has")
	}
}
