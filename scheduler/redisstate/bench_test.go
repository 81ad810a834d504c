package redisstate_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/redis/go-redis/v9"

	"github.com/kilnbuild/kiln/internal/digest"
	workerpb "github.com/kilnbuild/kiln/proto/kiln/worker/v1"
	"github.com/kilnbuild/kiln/scheduler"
)

// The scheduler load scenario on Redis:
//
//	go test ./scheduler/redisstate/ -run '^$' -bench Dispatch -benchtime 100000x
//
// b.N trivial actions wait in the queue (as the cache check leaves them)
// before the timer starts; then 1,000 simulated workers drain it through
// two scheduler replicas over gRPC on loopback (Poll, lease, Complete at
// once). Reported: actions/s dispatched and completed, Redis round trips
// per action (every command or pipeline the replicas send, counted by a
// go-redis hook; pub/sub deliveries are not round trips) and Redis CPU per
// action.
func BenchmarkDispatch(b *testing.B) {
	const workers = 1000
	c := newCluster(b, 2, func(o *scheduler.Options) { o.PollTimeout = 10 * time.Second })
	rt := countRoundTrips(c)
	enqueue(b, c.replicas[0].state, b.N)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var completed atomic.Int64
	allDone := make(chan struct{})
	var wg sync.WaitGroup
	cpu0 := redisCPU(b, c)
	rt.Store(0)
	b.ResetTimer()
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			gw := c.replicas[w%2].gw
			info := &workerpb.WorkerInfo{WorkerId: fmt.Sprint("bench-", w), Capacity: 1}
			for ctx.Err() == nil {
				resp, err := gw.Poll(ctx, &workerpb.PollRequest{Worker: info})
				l := resp.GetLease()
				if err != nil || l == nil {
					continue
				}
				if _, err := gw.Complete(ctx, &workerpb.CompleteRequest{WorkerId: info.WorkerId, LeaseId: l.GetLeaseId(), ExecuteResponse: resultFor(l)}); err != nil {
					b.Errorf("Complete: %v", err)
					continue
				}
				if completed.Add(1) == int64(b.N) {
					close(allDone)
				}
			}
		})
	}
	select {
	case <-allDone:
	case <-time.After(30 * time.Minute):
		b.Fatalf("only %d of %d actions completed", completed.Load(), b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	rts := rt.Load()
	cpu := redisCPU(b, c) - cpu0
	cancel()
	wg.Wait()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "actions/s")
	b.ReportMetric(float64(rts)/float64(b.N), "redis-rt/action")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "redis-cpu-µs/action")
}

// BenchmarkDispatchTrickle is the other extreme: 1,000 idle workers long-
// poll two replicas and actions arrive one at a time, each queued after
// the previous one completed. Every arrival wakes every poller (the
// State's work signal is a broadcast), so round trips per action grow with
// the number of idle workers.
func BenchmarkDispatchTrickle(b *testing.B) {
	const workers = 1000
	c := newCluster(b, 2, func(o *scheduler.Options) { o.PollTimeout = 10 * time.Second })
	rt := countRoundTrips(c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{}, 1)
	var wg sync.WaitGroup
	var polling atomic.Int64
	for w := range workers {
		wg.Go(func() {
			gw := c.replicas[w%2].gw
			info := &workerpb.WorkerInfo{WorkerId: fmt.Sprint("bench-", w), Capacity: 1}
			polling.Add(1)
			for ctx.Err() == nil {
				resp, err := gw.Poll(ctx, &workerpb.PollRequest{Worker: info})
				if l := resp.GetLease(); err == nil && l != nil {
					gw.Complete(ctx, &workerpb.CompleteRequest{WorkerId: info.WorkerId, LeaseId: l.GetLeaseId(), ExecuteResponse: resultFor(l)})
					done <- struct{}{}
				}
			}
		})
	}
	for polling.Load() < workers {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second) // let every worker reach its long poll
	cpu0 := redisCPU(b, c)
	rt.Store(0)
	b.ResetTimer()
	for range b.N {
		enqueue(b, c.replicas[0].state, 1)
		<-done
	}
	b.StopTimer()
	rts, cpu := rt.Load(), redisCPU(b, c)-cpu0
	cancel()
	wg.Wait()
	b.ReportMetric(float64(rts)/float64(b.N), "redis-rt/action")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "redis-cpu-µs/action")
}

// BenchmarkExecuteEndToEnd is the whole path through two replicas: b.N
// distinct actions, each an Execute stream (validation, cache lookup,
// queue, watch) from 64 concurrent clients, run by 100 workers.
func BenchmarkExecuteEndToEnd(b *testing.B) {
	const workers, clients = 100, 64
	c := newCluster(b, 2, func(o *scheduler.Options) { o.PollTimeout = 10 * time.Second })
	rt := countRoundTrips(c)
	actions := make([]digest.Digest, b.N)
	for i := range actions {
		actions[i] = c.uploadAction(b, i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			gw := c.replicas[w%2].gw
			info := &workerpb.WorkerInfo{WorkerId: fmt.Sprint("bench-", w), Capacity: 1}
			for ctx.Err() == nil {
				resp, err := gw.Poll(ctx, &workerpb.PollRequest{Worker: info})
				if l := resp.GetLease(); err == nil && l != nil {
					gw.Complete(ctx, &workerpb.CompleteRequest{WorkerId: info.WorkerId, LeaseId: l.GetLeaseId(), ExecuteResponse: resultFor(l)})
				}
			}
		})
	}
	var next atomic.Int64
	cpu0 := redisCPU(b, c)
	rt.Store(0)
	b.ResetTimer()
	start := time.Now()
	var cw sync.WaitGroup
	for range clients {
		cw.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if _, err := executeToEnd(ctx, c.replicas[i%2].exec, actions[i]); err != nil {
					b.Errorf("Execute: %v", err)
				}
			}
		})
	}
	cw.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	rts, cpu := rt.Load(), redisCPU(b, c)-cpu0
	cancel()
	wg.Wait()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "actions/s")
	b.ReportMetric(float64(rts)/float64(b.N), "redis-rt/action")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "redis-cpu-µs/action")
}

// enqueue creates n queued operations directly in the State, as the
// scheduler's cache check leaves them.
func enqueue(tb testing.TB, s scheduler.State, n int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	action := digest.OfBytes(repb.DigestFunction_SHA256, []byte("bench"))
	for range 32 {
		wg.Go(func() {
			for int(next.Add(1)) <= n {
				id := strings.ToLower(rand.Text())
				now := time.Now()
				op := scheduler.Operation{ID: id, Name: "main/operations/" + id, Instance: "main", Action: action,
					DedupKey: id, QueueKey: scheduler.PlatformKey(nil), Timeout: time.Minute,
					CreatedAt: now, Stage: repb.ExecutionStage_QUEUED, QueuedAt: now, EnqueuedAt: now}
				if _, _, err := s.Create(context.Background(), op, scheduler.JoinAny); err != nil {
					tb.Errorf("enqueue: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// roundTrips counts what a go-redis client sends: one per command, one
// per pipeline or transaction.
type roundTrips struct{ n *atomic.Int64 }

func (h roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

func countRoundTrips(c *cluster) *atomic.Int64 {
	n := new(atomic.Int64)
	for _, r := range c.replicas {
		r.client.AddHook(roundTrips{n: n})
	}
	return n
}

// redisCPU reads the CPU time the Redis server used so far.
func redisCPU(tb testing.TB, c *cluster) time.Duration {
	info, err := c.redis.Client(tb).Info(context.Background(), "cpu").Result()
	if err != nil {
		tb.Fatalf("INFO cpu: %v", err)
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}
