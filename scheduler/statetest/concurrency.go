package statetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/scheduler"
)

func testConcurrentClaims(t *testing.T, s scheduler.State) {
	const n = 200
	for range n {
		mustCreate(t, s, newOp("k", 0, repb.ExecutionStage_QUEUED))
	}
	var mu sync.Mutex
	seen := make(map[string]int)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for {
				op, ok, err := s.Claim(context.Background(), []string{"k"}, scheduler.ClaimRequest{WorkerID: fmt.Sprint("w", w), Token: uniqueID(), Expiry: t0})
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				seen[op.ID]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d distinct operations claimed, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s claimed %d times", id, c)
		}
	}
}

func testConcurrentUpdates(t *testing.T, s scheduler.State) {
	a := mustCreate(t, s, newOp("k", 0, repb.ExecutionStage_EXECUTING))
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := s.Update(context.Background(), a.ID, func(op *scheduler.Operation) error {
				op.LostWorkers = append(op.LostWorkers, fmt.Sprint("w", i))
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := mustGet(t, s, a.ID); len(got.LostWorkers) != n {
		t.Errorf("after %d concurrent appends, %d remain", n, len(got.LostWorkers))
	}
}

func testConcurrentCreates(t *testing.T, s scheduler.State) {
	const n = 30
	ids := make([]string, n)
	created := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			op := withKey(newOp("k", 0, repb.ExecutionStage_CACHE_CHECK), "same")
			got, joined, err := s.Create(context.Background(), op, scheduler.JoinAny)
			if err != nil {
				t.Error(err)
			}
			ids[i], created[i] = got.ID, !joined
		})
	}
	wg.Wait()
	nCreated := 0
	for i := range n {
		if created[i] {
			nCreated++
		}
		if ids[i] != ids[0] {
			t.Errorf("request %d got operation %s, request 0 got %s", i, ids[i], ids[0])
		}
	}
	if nCreated != 1 {
		t.Errorf("%d operations created for one action, want 1", nCreated)
	}
}
