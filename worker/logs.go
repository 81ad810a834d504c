package worker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	workerpb "github.com/kilnbuild/kiln/proto/kiln/worker/v1"
)

const (
	// liveChunkBytes bounds one OutputChunk.
	liveChunkBytes = 64 << 10
	// liveQueueChunks bounds the chunks waiting to be published; beyond
	// it live output is dropped (the full log still reaches the CAS), so
	// a slow scheduler never slows the action down.
	liveQueueChunks = 256
	// liveFlushGrace bounds how long a finished action waits for its live
	// output to drain to a stalled scheduler.
	liveFlushGrace = 5 * time.Second
)

// logWriter is one output stream of an action: everything goes to a file
// (uploaded to the CAS at the end), and a copy to the live publisher.
type logWriter struct {
	f      *os.File
	stream workerpb.OutputChunk_Stream
	live   *livePublisher
}

func (w *logWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if n > 0 {
		w.live.offer(w.stream, p[:n])
	}
	if err != nil {
		return n, fmt.Errorf("writing the %s log: %w", w.stream, err)
	}
	return n, nil
}

// livePublisher streams an action's output chunks to the scheduler with
// PublishOutput, for clients that tail a running action. It is best
// effort: a failed stream stops live output and nothing else.
type livePublisher struct {
	leaseID string
	chunks  chan *workerpb.OutputChunk
	done    chan struct{}
	cancel  context.CancelFunc
	dropped atomic.Int64
}

func startLivePublisher(ctx context.Context, gw workerpb.WorkerGatewayClient, leaseID string, log *slog.Logger) *livePublisher {
	ctx, cancel := context.WithCancel(ctx)
	p := &livePublisher{
		leaseID: leaseID,
		chunks:  make(chan *workerpb.OutputChunk, liveQueueChunks),
		done:    make(chan struct{}),
		cancel:  cancel,
	}
	go p.run(ctx, gw, log)
	return p
}

func (p *livePublisher) run(ctx context.Context, gw workerpb.WorkerGatewayClient, log *slog.Logger) {
	defer close(p.done)
	var stream workerpb.WorkerGateway_PublishOutputClient
	failed := false
	for c := range p.chunks {
		if failed {
			continue // keep draining so that offer never blocks
		}
		if stream == nil {
			var err error
			if stream, err = gw.PublishOutput(ctx); err != nil {
				log.Debug("live output unavailable", "err", err)
				failed = true
				continue
			}
		}
		if err := stream.Send(c); err != nil {
			log.Debug("live output stream broke", "err", err)
			failed = true
		}
	}
	if stream != nil && !failed {
		if _, err := stream.CloseAndRecv(); err != nil {
			log.Debug("closing live output stream", "err", err)
		}
	}
	if n := p.dropped.Load(); n > 0 {
		log.Debug("live output chunks dropped", "chunks", n)
	}
}

// offer queues a copy of b, split into chunks, or drops it if the queue is
// full. It never blocks.
func (p *livePublisher) offer(stream workerpb.OutputChunk_Stream, b []byte) {
	for len(b) > 0 {
		n := min(len(b), liveChunkBytes)
		c := &workerpb.OutputChunk{LeaseId: p.leaseID, Stream: stream, Data: append([]byte(nil), b[:n]...)}
		b = b[n:]
		select {
		case p.chunks <- c:
		default:
			p.dropped.Add(1)
		}
	}
}

// close flushes the queued chunks and ends the stream. No offer may follow.
func (p *livePublisher) close() {
	close(p.chunks)
	t := time.NewTimer(liveFlushGrace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		p.cancel()
		<-p.done
	}
	p.cancel()
}
