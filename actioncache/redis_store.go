package actioncache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/internal/digest"
)

// DefaultRedisTTL is how long an entry that nobody reads stays in Redis.
const DefaultRedisTTL = 7 * 24 * time.Hour

// RedisStore keeps entries in Redis, one string per entry holding the
// serialized ActionResult, so that every action cache and scheduler
// replica of a farm sees the same cache. The key is
//
//	{prefix}ac:{function}:{hash}-{size}:{instance}
//
// The instance name comes last: it may contain any character, and the
// parts before it contain no ':', so no two keys collide. A Put is one SET
// and a Get one GET, both atomic.
//
// With a ttl, every entry expires ttl after it was last written or read
// (Get refreshes it with GETEX): the cache keeps what builds use. Run the
// Redis that holds it with a maxmemory and an LRU policy as well
// (deploy/README.md), apart from the scheduler's, which must not evict.
type RedisStore struct {
	client redis.UniversalClient
	prefix string
	ttl    time.Duration
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore returns a store on client, its keys under prefix
// (e.g. "kiln:"). A ttl of 0 keeps entries until Redis evicts them.
func NewRedisStore(client redis.UniversalClient, prefix string, ttl time.Duration) *RedisStore {
	return &RedisStore{client: client, prefix: prefix, ttl: max(ttl, 0)}
}

// key names k's entry.
func (s *RedisStore) key(k Key) string {
	return s.prefix + "ac:" + digest.FunctionName(k.Action.Function) + ":" + k.Action.Hash + "-" +
		strconv.FormatInt(k.Action.Size, 10) + ":" + k.Instance
}

// Get implements Store.
func (s *RedisStore) Get(ctx context.Context, k Key) (*repb.ActionResult, error) {
	var b []byte
	var err error
	if s.ttl > 0 {
		b, err = s.client.GetEx(ctx, s.key(k), s.ttl).Bytes()
	} else {
		b, err = s.client.Get(ctx, s.key(k)).Bytes()
	}
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("action %s: %w", k.Action, ErrNotFound)
	}
	if err != nil {
		return nil, redisError("reading the action result of", k, err)
	}
	r := &repb.ActionResult{}
	if err := proto.Unmarshal(b, r); err != nil {
		// Only a writer other than Kiln gets here; a miss makes the
		// client rebuild and overwrite it.
		return nil, fmt.Errorf("action %s: the entry in Redis is damaged (%v): %w", k.Action, err, ErrNotFound)
	}
	return r, nil
}

// Put implements Store.
func (s *RedisStore) Put(ctx context.Context, k Key, r *repb.ActionResult) error {
	if r == nil {
		return fmt.Errorf("action %s: nil action result", k.Action)
	}
	b, err := proto.Marshal(r)
	if err != nil {
		return fmt.Errorf("action %s: encoding the result: %w", k.Action, err)
	}
	if err := s.client.Set(ctx, s.key(k), b, s.ttl).Err(); err != nil {
		return redisError("storing the action result of", k, err)
	}
	return nil
}

// redisError wraps a failure of Redis. Unless the call's context ended, it
// is one that passes (Redis restarting, failing over, out of reach), so it
// reads as UNAVAILABLE at the service edge: clients retry after the
// server's RetryInfo instead of reporting an internal error.
func redisError(doing string, k Key, err error) error {
	err = fmt.Errorf("action cache on Redis: %s %s: %w", doing, k.Action, err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &unavailableError{err: err}
}

// unavailableError gives a wrapped error the status UNAVAILABLE.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return e.err.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

// GRPCStatus lets status.FromError, and so the service edge, read the code.
func (e *unavailableError) GRPCStatus() *status.Status {
	return status.New(codes.Unavailable, e.err.Error())
}
