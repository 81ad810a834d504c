package scheduler

import (
	"errors"
	"io"
	"testing"

	"google.golang.org/genproto/googleapis/bytestream"

	"github.com/kilnbuild/kiln/cas"
	workerpb "github.com/kilnbuild/kiln/proto/kiln/worker/v1"
)

func TestItem20_LiveOutputIsReadableWhileRunning(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	stream, op := e.queuedOperation(t, ctx, request(e.upload(t, spec{})))
	md := metadata(t, op)
	w := e.worker("w1")
	l := w.lease(t, ctx)

	r, ok, err := e.s.StreamSource().OpenStream(ctx, md.GetStdoutStreamName())
	if err != nil || !ok {
		t.Fatalf("OpenStream(%s) = %v, %v", md.GetStdoutStreamName(), ok, err)
	}
	defer r.Close()
	type readResult struct {
		b   []byte
		err error
	}
	read := make(chan readResult)
	go func() {
		b, err := io.ReadAll(r) // blocks until the action completes
		read <- readResult{b, err}
	}()

	pub, err := e.gw.PublishOutput(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*workerpb.OutputChunk{
		{LeaseId: l.GetLeaseId(), Stream: workerpb.OutputChunk_STDOUT, Data: []byte("hello ")},
		{LeaseId: l.GetLeaseId(), Stream: workerpb.OutputChunk_STDERR, Data: []byte("warning")},
		{LeaseId: l.GetLeaseId(), Stream: workerpb.OutputChunk_STDOUT, Data: []byte("world")},
	} {
		if err := pub.Send(c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pub.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	w.complete(t, ctx, l, success(0, "hello world"))
	if got := <-read; string(got.b) != "hello world" || got.err != nil {
		t.Errorf("live stdout = %q, %v; want \"hello world\" ending at EOF", got.b, got.err)
	}
	collect(stream)

	errStream, _, _ := e.s.StreamSource().OpenStream(ctx, md.GetStderrStreamName())
	if b, _ := io.ReadAll(errStream); string(b) != "warning" {
		t.Errorf("stderr after completion = %q", b)
	}
}

func TestItem20_StreamNames(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	if _, ok, _ := e.s.StreamSource().OpenStream(ctx, "main/blobs/abc/3"); ok {
		t.Errorf("a blob name was claimed as a log stream")
	}
	_, ok, err := e.s.StreamSource().OpenStream(ctx, "main/kiln-logs/0123456789abcdef0123456789abcdef/stdout")
	if !ok || !errors.Is(err, cas.ErrNotFound) {
		t.Errorf("unknown log stream: ok %v err %v, want ok and cas.ErrNotFound", ok, err)
	}
	_, op := e.queuedOperation(t, ctx, request(e.upload(t, spec{})))
	id, _ := operationIDFromName(op.GetName())
	if _, _, err := e.s.StreamSource().OpenStream(ctx, "other/kiln-logs/"+id+"/stdout"); !errors.Is(err, cas.ErrNotFound) {
		t.Errorf("log stream under the wrong instance: %v, want cas.ErrNotFound", err)
	}
}

func TestItem20_OutputOfLostLeasesIsDropped(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	_, op := e.queuedOperation(t, ctx, request(e.upload(t, spec{})))
	l1 := e.worker("w1").lease(t, ctx)
	e.s.expireLeases(ctx, l1.GetExpireTime().AsTime())
	pub, _ := e.gw.PublishOutput(ctx)
	pub.Send(&workerpb.OutputChunk{LeaseId: l1.GetLeaseId(), Stream: workerpb.OutputChunk_STDOUT, Data: []byte("ghost")})
	if _, err := pub.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	id, _ := operationIDFromName(op.GetName())
	got, err := e.s.state.ReadOutput(ctx, id, Stdout, 0, 100)
	if err != nil || len(got.Data) != 0 {
		t.Errorf("output of a lost lease was kept: %q, %v", got.Data, err)
	}
}

func TestItem20_ByteStreamReadTailsRunningAction(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	stream, op := e.queuedOperation(t, ctx, request(e.upload(t, spec{})))
	w := e.worker("w1")
	l := w.lease(t, ctx)
	pub, err := e.gw.PublishOutput(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pub.Send(&workerpb.OutputChunk{LeaseId: l.GetLeaseId(), Stream: workerpb.OutputChunk_STDOUT, Data: []byte("compiling...")})
	pub.CloseAndRecv()

	read, err := e.bs.Read(ctx, &bytestream.ReadRequest{ResourceName: metadata(t, op).GetStdoutStreamName()})
	if err != nil {
		t.Fatal(err)
	}
	first, err := read.Recv() // arrives while the action still runs
	if err != nil || string(first.GetData()) != "compiling..." {
		t.Fatalf("first ByteStream chunk = %q, %v", first.GetData(), err)
	}
	w.complete(t, ctx, l, success(0, ""))
	if _, err := read.Recv(); err != io.EOF {
		t.Errorf("after completion the read ended with %v, want EOF", err)
	}
	collect(stream)
}
