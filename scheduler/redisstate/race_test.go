package redisstate_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/internal/digest"
	workerpb "github.com/kilnbuild/kiln/proto/kiln/worker/v1"
)

// executions is what the fake workers saw.
type executions struct {
	mu       sync.Mutex
	byAction map[string]int // action hash → leases received
	byLease  map[string]int
	attempts map[string]int // "operation/attempt" → leases received
	maxTry   int32
	errs     []error
}

func newExecutions() *executions {
	return &executions{byAction: make(map[string]int), byLease: make(map[string]int), attempts: make(map[string]int)}
}

func (e *executions) leased(l *workerpb.Lease) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.byAction[l.GetActionHash()]++
	e.byLease[l.GetLeaseId()]++
	e.attempts[fmt.Sprint(l.GetOperationName(), "/", l.GetAttempt())]++
	e.maxTry = max(e.maxTry, l.GetAttempt())
}

func (e *executions) fail(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errs = append(e.errs, err)
}

// TestReplicasRace runs two scheduler replicas on one Redis, workers that
// poll both (and complete through the replica they did not poll), and
// thousands of actions submitted through both. Every action must run
// exactly once and every client must get its own result.
func TestReplicasRace(t *testing.T) {
	const (
		nActions = 3000
		nWorkers = 40
		nClients = 64
	)
	c := newCluster(t, 2, nil)
	actions := make([]digest.Digest, nActions)
	for i := range actions {
		actions[i] = c.uploadAction(t, i)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	workCtx, stopWorkers := context.WithCancel(ctx)
	seen := newExecutions()
	var workers sync.WaitGroup
	for w := range nWorkers {
		workers.Go(func() { fakeWorker(workCtx, c, fmt.Sprint("worker-", w), w, seen) })
	}

	next := make(chan int)
	go func() {
		defer close(next)
		for i := range nActions {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var clients sync.WaitGroup
	var mu sync.Mutex
	var clientErrs []error
	for range nClients {
		clients.Go(func() {
			for i := range next {
				d := actions[i]
				resp, err := executeToEnd(ctx, c.replicas[i%2].exec, d)
				switch {
				case err != nil:
				case resp.GetStatus().GetCode() != 0:
					err = fmt.Errorf("status %v", resp.GetStatus())
				case string(resp.GetResult().GetStdoutRaw()) != d.Hash:
					err = fmt.Errorf("got the result of action %q", resp.GetResult().GetStdoutRaw())
				}
				if err != nil {
					mu.Lock()
					clientErrs = append(clientErrs, fmt.Errorf("action %d (%s) via replica %d: %w", i, d.Hash[:8], i%2, err))
					mu.Unlock()
				}
			}
		})
	}
	clients.Wait()
	stopWorkers()
	workers.Wait()

	for i, err := range clientErrs {
		if i == 10 {
			t.Errorf("... and %d more client errors", len(clientErrs)-10)
			break
		}
		t.Error(err)
	}
	for _, err := range seen.errs {
		t.Errorf("worker: %v", err)
	}
	wrong := 0
	for _, d := range actions {
		if n := seen.byAction[d.Hash]; n != 1 {
			if wrong++; wrong <= 10 {
				t.Errorf("action %s executed %d times, want once", d.Hash[:8], n)
			}
		}
	}
	if wrong > 10 {
		t.Errorf("... %d actions in all did not execute exactly once", wrong)
	}
	for id, n := range seen.byLease {
		if n != 1 {
			t.Errorf("lease %s handed out %d times", id, n)
		}
	}
	for id, n := range seen.attempts {
		if n != 1 {
			t.Errorf("attempt %s leased %d times", id, n)
		}
	}
	if seen.maxTry != 1 {
		t.Errorf("an action needed attempt %d: a lease was lost", seen.maxTry)
	}
	t.Logf("%d actions through 2 replicas by %d workers", len(seen.byAction), nWorkers)
}

// fakeWorker polls the replicas in turn and completes each lease at once,
// through the other replica.
func fakeWorker(ctx context.Context, c *cluster, id string, start int, seen *executions) {
	info := &workerpb.WorkerInfo{WorkerId: id, Capacity: 1}
	for i := start; ctx.Err() == nil; i++ {
		poll, complete := c.replicas[i%2].gw, c.replicas[(i+1)%2].gw
		resp, err := poll.Poll(ctx, &workerpb.PollRequest{Worker: info})
		if err != nil {
			if ctx.Err() == nil && status.Code(err) != codes.Canceled {
				seen.fail(fmt.Errorf("%s: Poll: %w", id, err))
			}
			continue
		}
		l := resp.GetLease()
		if l == nil {
			continue
		}
		seen.leased(l)
		// The completion must land even if the test is winding down:
		// the client waits for it.
		_, err = complete.Complete(context.WithoutCancel(ctx), &workerpb.CompleteRequest{
			WorkerId: id, LeaseId: l.GetLeaseId(), ExecuteResponse: resultFor(l)})
		if err != nil {
			seen.fail(fmt.Errorf("%s: Complete %s: %w", id, l.GetLeaseId(), err))
		}
	}
}
