package scheduler

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/kilnbuild/kiln/internal/digest"
	workerpb "github.com/kilnbuild/kiln/proto/kiln/worker/v1"
)

// instantWorkers runs n workers that complete every lease at once, until
// the benchmark ends.
func instantWorkers(b *testing.B, e *env, n int) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	done, _ := anypb.New(success(0, ""))
	for i := range n {
		wg.Go(func() {
			info := &workerpb.WorkerInfo{WorkerId: "bench-" + string(rune('a'+i)), Capacity: 1}
			for ctx.Err() == nil {
				resp, err := e.gw.Poll(ctx, &workerpb.PollRequest{Worker: info})
				if err != nil || resp.GetLease() == nil {
					continue
				}
				e.gw.Complete(ctx, &workerpb.CompleteRequest{WorkerId: info.WorkerId, LeaseId: resp.GetLease().GetLeaseId(), ExecuteResponse: done})
			}
		})
	}
	b.Cleanup(func() { cancel(); wg.Wait() })
}

// uploadActions stores n distinct actions before the timer starts.
func uploadActions(b *testing.B, e *env, n int) []digest.Digest {
	ds := make([]digest.Digest, n)
	for i := range ds {
		ds[i] = e.upload(b, spec{})
	}
	return ds
}

func executeToEnd(e *env, d digest.Digest) error {
	s, err := e.exec.Execute(context.Background(), request(d))
	if err != nil {
		return err
	}
	ops, err := collect(s)
	if err != nil || len(ops) == 0 || !ops[len(ops)-1].GetDone() {
		return fmt.Errorf("execute: %d ops, %v", len(ops), err)
	}
	return nil
}

// BenchmarkExecuteLatency is the scheduler's cost per action, one at a
// time: Execute (validation, cache miss, queue), Poll, Complete, final
// message, over real gRPC on loopback.
func BenchmarkExecuteLatency(b *testing.B) {
	e := newEnv(b, func(o *Options) { o.PollTimeout = time.Second })
	instantWorkers(b, e, 2)
	ds := uploadActions(b, e, b.N)
	b.ResetTimer()
	for i := range b.N {
		if err := executeToEnd(e, ds[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExecuteThroughput runs many clients and workers at once.
func BenchmarkExecuteThroughput(b *testing.B) {
	e := newEnv(b, func(o *Options) { o.PollTimeout = time.Second })
	instantWorkers(b, e, 8)
	ds := uploadActions(b, e, b.N)
	var next sync.Mutex
	i := 0
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			next.Lock()
			d := ds[i]
			i++
			next.Unlock()
			if err := executeToEnd(e, d); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
