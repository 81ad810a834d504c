package actioncache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/redistest"
)

func newRedisStore(t *testing.T, ttl time.Duration) (*RedisStore, *redis.Client, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t)
	client := srv.Client(t)
	return NewRedisStore(client, "kiln-test:", ttl), client, srv
}

func TestRedisStoreRoundTripsAndOverwrites(t *testing.T) {
	s, _, _ := newRedisStore(t, time.Hour)
	k := actionKey("team/a", "build")
	if _, err := s.Get(context.Background(), k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get before Put = %v, want ErrNotFound", err)
	}
	first, second := resultNamed("first", 10), resultNamed("second", 20)
	mustPut(t, s, k, first)
	if got := mustGet(t, s, k); !proto.Equal(got, first) {
		t.Errorf("Get = %v, want %v", got, first)
	}
	mustPut(t, s, k, second)
	if got := mustGet(t, s, k); !proto.Equal(got, second) {
		t.Errorf("Get after overwrite = %v, want %v", got, second)
	}
}

func TestRedisStorePartitionsByInstanceFunctionAndSize(t *testing.T) {
	s, _, _ := newRedisStore(t, 0)
	k := actionKey("a", "x")
	mustPut(t, s, k, resultNamed("a", 0))
	blake := k
	blake.Action.Function = repb.DigestFunction_BLAKE3
	bigger := k
	bigger.Action.Size++
	for _, other := range []Key{
		{Instance: "b", Action: k.Action},
		{Instance: "", Action: k.Action},
		{Instance: "a:sha256", Action: k.Action},
		blake,
		bigger,
	} {
		if _, err := s.Get(context.Background(), other); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%+v) = %v, want ErrNotFound: entries leak across keys", other, err)
		}
	}
}

func TestRedisStoreConcurrentPutsLeaveAWholeEntry(t *testing.T) {
	s, _, _ := newRedisStore(t, time.Hour)
	k := actionKey("", "contended")
	candidates := map[int32]*repb.ActionResult{}
	var wg sync.WaitGroup
	for i := range 8 {
		r := resultNamed(fmt.Sprintf("writer-%d%s", i, string(make([]byte, i))), 1000*i)
		candidates[r.ExitCode] = r
		wg.Go(func() {
			for range 20 {
				if err := s.Put(context.Background(), k, r); err != nil {
					t.Error(err)
					return
				}
				got, err := s.Get(context.Background(), k)
				if err != nil {
					t.Error(err)
					return
				}
				if want, ok := candidates[got.ExitCode]; !ok || !proto.Equal(got, want) {
					t.Errorf("read a result no writer wrote: %v", got)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestRedisStoreExpiresUnusedEntriesAndRefreshesUsedOnes(t *testing.T) {
	ctx := context.Background()
	s, client, _ := newRedisStore(t, time.Hour)
	k := actionKey("", "ttl")
	mustPut(t, s, k, resultNamed("ttl", 0))
	key := s.key(k)
	if ttl := client.TTL(ctx, key).Val(); ttl <= 0 || ttl > time.Hour {
		t.Fatalf("TTL after Put = %v, want up to an hour", ttl)
	}
	if err := client.Expire(ctx, key, 100*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	mustGet(t, s, k)
	if ttl := client.TTL(ctx, key).Val(); ttl <= 100*time.Second {
		t.Errorf("TTL after Get = %v, want it refreshed to about an hour", ttl)
	}

	forever, client2, _ := newRedisStore(t, 0)
	mustPut(t, forever, k, resultNamed("ttl", 0))
	if ttl := client2.TTL(ctx, forever.key(k)).Val(); ttl != -1 {
		t.Errorf("TTL with ttl 0 = %v, want none (-1)", ttl)
	}
}

func TestRedisStoreTreatsADamagedEntryAsMiss(t *testing.T) {
	s, client, _ := newRedisStore(t, 0)
	k := actionKey("", "damaged")
	if err := client.Set(context.Background(), s.key(k), []byte{0xff, 0xff, 0xff}, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(context.Background(), k); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a damaged entry = %v, want ErrNotFound", err)
	}
}

func TestRedisStoreDownIsUnavailable(t *testing.T) {
	s, _, srv := newRedisStore(t, time.Hour)
	srv.Stop()
	k := actionKey("", "down")
	_, err := s.Get(context.Background(), k)
	if st := toStatus("GetActionResult", err); status.Code(st) != codes.Unavailable {
		t.Errorf("Get with Redis down reaches clients as %v, want UNAVAILABLE", st)
	}
	err = s.Put(context.Background(), k, resultNamed("down", 0))
	if st := toStatus("UpdateActionResult", err); status.Code(st) != codes.Unavailable {
		t.Errorf("Put with Redis down reaches clients as %v, want UNAVAILABLE", st)
	}
}

// The service over a Redis store, wired as cmd/kiln wires it: checklist
// items 21 and 23 hold as they do over the other stores.
func TestRedisStoreBehindTheService(t *testing.T) {
	store, _, _ := newRedisStore(t, time.Hour)
	blobs := cas.NewMemoryStore()
	client := startServer(t, NewServer(NewCompletenessChecking(store, blobs, CompletenessOptions{}), blobs, ServerOptions{UpdateEnabled: true}))
	ctx := context.Background()

	file := putBlob(t, blobs, []byte("object code"))
	r := &repb.ActionResult{OutputFiles: []*repb.OutputFile{{Path: "a.o", Digest: file.Proto()}}}
	k := actionKey("team", "compile")
	if _, err := client.UpdateActionResult(ctx, &repb.UpdateActionResultRequest{
		InstanceName: "team", ActionDigest: k.Action.Proto(), ActionResult: r,
	}); err != nil {
		t.Fatalf("UpdateActionResult: %v", err)
	}
	got, err := client.GetActionResult(ctx, &repb.GetActionResultRequest{InstanceName: "team", ActionDigest: k.Action.Proto()})
	if err != nil || !proto.Equal(got, r) {
		t.Fatalf("GetActionResult = %v, %v; want %v", got, err, r)
	}
	_, err = client.GetActionResult(ctx, &repb.GetActionResultRequest{InstanceName: "other", ActionDigest: k.Action.Proto()})
	wantCode(t, err, codes.NotFound, "other")

	// An entry whose output is gone from the CAS is a miss (item 21).
	gone := actionKey("team", "outputs gone")
	mustPut(t, store, gone, &repb.ActionResult{OutputFiles: []*repb.OutputFile{{Path: "x", Digest: blobDigest("never stored").Proto()}}})
	_, err = client.GetActionResult(ctx, &repb.GetActionResultRequest{InstanceName: "team", ActionDigest: gone.Action.Proto()})
	wantCode(t, err, codes.NotFound, gone.Action.Hash)
}
