package actioncache

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/internal/redistest"
)

func newRedisStore(t *testing.T, ttl time.Duration) (*RedisStore, *redis.Client, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t)
	client := srv.Client(t)
	return NewRedisStore(client, "kiln-test:", ttl), client, srv
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
