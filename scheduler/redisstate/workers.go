package redisstate

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kilnbuild/kiln/scheduler"
)

// workerRecord is what the registry stores of a worker; when it was last
// seen is its score in the workers index.
type workerRecord struct {
	Offers   []property `json:"offers,omitempty"`
	Capacity int32      `json:"cap,omitempty"`
}

// RecordWorker implements scheduler.WorkerRegistry.
func (s *State) RecordWorker(ctx context.Context, w scheduler.Worker) error {
	rec := workerRecord{Capacity: w.Capacity}
	for _, p := range w.Offers {
		rec.Offers = append(rec.Offers, property{Name: p.Name, Value: p.Value})
	}
	b, err := json.Marshal(&rec)
	if err != nil {
		return fmt.Errorf("redis state: encoding worker %s: %w", w.ID, err)
	}
	_, err = s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.prefix+"w:"+w.ID, b, s.opts.WorkerTTL)
		p.ZAdd(ctx, s.prefix+"workers", redis.Z{Score: float64(micros(w.LastSeen)), Member: w.ID})
		return nil
	})
	if err != nil {
		return wrapErr("recording worker "+w.ID, err)
	}
	return nil
}

// TouchWorker implements scheduler.WorkerRegistry.
func (s *State) TouchWorker(ctx context.Context, id string, now time.Time) error {
	res, err := s.run(ctx, s.scripts.touchWorker, id, micros(now), s.opts.WorkerTTL.Milliseconds())
	if err != nil {
		return wrapErr("touching worker "+id, err)
	}
	if n, _ := replyInt(res); n == 0 {
		return notFound("worker", id)
	}
	return nil
}

// LiveWorkers implements scheduler.WorkerRegistry, to the microsecond.
func (s *State) LiveWorkers(ctx context.Context, since time.Time) ([]scheduler.Worker, error) {
	res, err := s.run(ctx, s.scripts.liveWorkers, micros(since))
	if err != nil {
		return nil, wrapErr("listing workers", err)
	}
	l, err := replyList(res)
	if err != nil {
		return nil, fmt.Errorf("redis state: listing workers: %w", err)
	}
	var ws []scheduler.Worker
	for i := 0; i+2 < len(l); i += 3 {
		id, _ := replyString(l[i])
		raw, _ := replyString(l[i+1])
		score, _ := replyString(l[i+2])
		var rec workerRecord
		if err := json.Unmarshal([]byte(raw), &rec); err != nil {
			return nil, fmt.Errorf("redis state: decoding worker %s: %w", id, err)
		}
		seen, err := strconv.ParseFloat(score, 64)
		if err != nil {
			return nil, fmt.Errorf("redis state: last seen of worker %s: %w", id, err)
		}
		w := scheduler.Worker{ID: id, Capacity: rec.Capacity, LastSeen: time.UnixMicro(int64(seen))}
		for _, p := range rec.Offers {
			w.Offers = append(w.Offers, scheduler.Property{Name: p.Name, Value: p.Value})
		}
		ws = append(ws, w)
	}
	return ws, nil
}

// ForgetWorkers implements scheduler.WorkerRegistry.
func (s *State) ForgetWorkers(ctx context.Context, before time.Time) error {
	if _, err := s.run(ctx, s.scripts.forgetWorkers, micros(before)); err != nil {
		return wrapErr("forgetting workers", err)
	}
	return nil
}
