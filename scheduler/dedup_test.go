package scheduler

import (
	"sync"

	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
)

func TestItem32_InFlightDedup(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	d := e.upload(t, spec{})

	const clients = 50
	var joined sync.WaitGroup // every client saw its first message
	joined.Add(clients)
	type outcome struct {
		name, stdout string
		err          error
	}
	outcomes := make([]outcome, clients)
	var done sync.WaitGroup
	for i := range clients {
		done.Go(func() {
			stream, err := e.exec.Execute(ctx, request(d))
			if err != nil {
				outcomes[i].err = err
				joined.Done()
				return
			}
			first, err := stream.Recv()
			joined.Done()
			if err != nil {
				outcomes[i].err = err
				return
			}
			ops, err := collect(stream)
			if err != nil || len(ops) == 0 {
				outcomes[i] = outcome{err: err}
				return
			}
			resp := &repb.ExecuteResponse{}
			if err := ops[len(ops)-1].GetResponse().UnmarshalTo(resp); err != nil {
				outcomes[i] = outcome{err: err}
				return
			}
			outcomes[i] = outcome{name: first.GetName(), stdout: string(resp.GetResult().GetStdoutRaw())}
		})
	}

	// The slow action: the worker holds its lease until all 50 clients
	// are in, and a second worker polls meanwhile.
	w1, w2 := e.worker("w1"), e.worker("w2")
	l := w1.lease(t, ctx)
	joined.Wait()
	if extra := w2.poll(t, ctx); extra != nil {
		t.Errorf("a second lease was handed out for the same action: %v", extra)
	}
	w1.complete(t, ctx, l, success(0, "once"))
	done.Wait()

	for i, o := range outcomes {
		if o.err != nil {
			t.Fatalf("client %d: %v", i, o.err)
		}
		if o.name != l.GetOperationName() || o.stdout != "once" {
			t.Errorf("client %d got operation %s with stdout %q, want %s with \"once\"", i, o.name, o.stdout, l.GetOperationName())
		}
	}
	if extra := w2.poll(t, ctx); extra != nil {
		t.Errorf("the action was queued again after completing: %v", extra)
	}
	if n := counterValue(t, e.s.metrics.executions.WithLabelValues(resultSuccess)); n != 1 {
		t.Errorf("executions_total{result=success} = %v, want 1", n)
	}
}

func TestItem32_DedupIsPerInstance(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	d := e.upload(t, spec{})
	_, a := e.queuedOperation(t, ctx, request(d))
	other := request(d)
	other.InstanceName = "other"
	_, b := e.queuedOperation(t, ctx, other)
	if a.GetName() == b.GetName() {
		t.Errorf("requests of two instances merged into %s", a.GetName())
	}
}
