package redisstate

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kilnbuild/kiln/scheduler"
)

// claimTokenTTL is how long a claim's token remembers its operation, so
// that go-redis retrying a Claim whose reply was lost hands out the same
// lease instead of a second one.
const claimTokenTTL = time.Minute

// expiredLeasesLimit bounds one ExpiredLeases answer; the sweeper asks
// again at its next tick.
const expiredLeasesLimit = 10000

// QueueKeys implements scheduler.QueueStore. Concurrent callers share one
// request (see claimGate).
func (s *State) QueueKeys(ctx context.Context) ([]string, error) {
	return s.gate.queueKeys(ctx, func() ([]string, error) {
		keys, err := s.client.SMembers(context.WithoutCancel(ctx), s.prefix+"queues").Result()
		if err != nil {
			return nil, wrapErr("listing queues", err)
		}
		return keys, nil
	})
}

// Claim implements scheduler.QueueStore. The claim runs to its end even if
// ctx ends meanwhile: abandoning it halfway could lease an operation to a
// worker that never hears of it. Claims that cannot find anything are
// answered without Redis (see claimGate).
func (s *State) Claim(ctx context.Context, keys []string, req scheduler.ClaimRequest) (scheduler.Operation, bool, error) {
	if len(keys) == 0 {
		return scheduler.Operation{}, false, nil
	}
	var op scheduler.Operation
	found, err := s.gate.claim(ctx, keys, func() (bool, error) {
		var err error
		op, err = s.claim(context.WithoutCancel(ctx), keys, req)
		return op.ID != "", err
	})
	return op, found, err
}

// claim runs the claim script; the operation is zero when the queues are
// empty.
func (s *State) claim(ctx context.Context, keys []string, req scheduler.ClaimRequest) (scheduler.Operation, error) {
	args := make([]any, 0, 5+len(keys))
	args = append(args, req.Token, req.WorkerID, nanos(req.Expiry), micros(req.Expiry), claimTokenTTL.Milliseconds())
	for _, k := range keys {
		args = append(args, k)
	}
	res, err := s.run(ctx, s.scripts.claim, args...)
	if err != nil {
		return scheduler.Operation{}, wrapErr("claiming work", err)
	}
	l, err := replyList(res)
	if err != nil || len(l) == 0 {
		return scheduler.Operation{}, fmt.Errorf("redis state: claiming work: bad reply %v", res)
	}
	if l[0] == "empty" {
		return scheduler.Operation{}, nil
	}
	op, err := decodeReply(l)
	if err != nil {
		return scheduler.Operation{}, err
	}
	s.opChanged.saw(op.ID, op.Version, false)
	return op, nil
}

// QueuedBefore implements scheduler.QueueStore, to the microsecond.
func (s *State) QueuedBefore(ctx context.Context, key string, t time.Time) ([]string, error) {
	ids, err := s.client.ZRangeByScore(ctx, s.prefix+"qt:"+key, &redis.ZRangeBy{
		Min: "-inf", Max: "(" + strconv.FormatInt(micros(t), 10),
	}).Result()
	if err != nil {
		return nil, wrapErr("listing queue "+key, err)
	}
	return ids, nil
}

// WorkAvailable implements scheduler.QueueStore. Any State on the same
// Redis and prefix that queues work wakes the channel, through pub/sub.
func (s *State) WorkAvailable(ctx context.Context) (<-chan struct{}, error) {
	return s.work.wait(""), nil
}

// RenewLease implements scheduler.LeaseStore.
func (s *State) RenewLease(ctx context.Context, id, leaseID, workerID string, expiry time.Time) error {
	res, err := s.run(ctx, s.scripts.renewLease, id, leaseID, workerID, nanos(expiry), micros(expiry))
	if err != nil {
		return wrapErr("renewing lease "+leaseID, err)
	}
	switch res {
	case "ok":
		return nil
	case "notfound":
		return notFound("operation", id)
	case "notheld":
		return fmt.Errorf("lease %s: %w", leaseID, scheduler.ErrLeaseNotHeld)
	}
	return fmt.Errorf("redis state: renewing lease %s: bad reply %v", leaseID, res)
}

// ExpiredLeases implements scheduler.LeaseStore.
func (s *State) ExpiredLeases(ctx context.Context, now time.Time) ([]scheduler.LeaseRef, error) {
	res, err := s.run(ctx, s.scripts.expiredLeases, micros(now), expiredLeasesLimit)
	if err != nil {
		return nil, wrapErr("listing expired leases", err)
	}
	l, err := replyList(res)
	if err != nil {
		return nil, fmt.Errorf("redis state: listing expired leases: %w", err)
	}
	var refs []scheduler.LeaseRef
	for i := 0; i+2 < len(l); i += 3 {
		id, _ := replyString(l[i])
		lid, _ := replyString(l[i+1])
		exp, err := replyInt(l[i+2])
		if err != nil {
			return nil, fmt.Errorf("redis state: lease of %s: %w", id, err)
		}
		// The index holds microseconds; the exact expiry decides.
		if !fromNanos(exp).After(now) {
			refs = append(refs, scheduler.LeaseRef{OperationID: id, LeaseID: lid})
		}
	}
	return refs, nil
}
