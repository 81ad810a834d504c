package redisstate

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/internal/digest"
	"github.com/kilnbuild/kiln/scheduler"
)

func TestOperationRoundTrip(t *testing.T) {
	at := time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.UTC)
	op := scheduler.Operation{
		ID: "id1", Name: "inst/operations/id1", Instance: "inst",
		Action:   digest.OfBytes(repb.DigestFunction_BLAKE3, []byte("a")),
		DedupKey: "dk", Platform: scheduler.Platform{{Name: "os", Value: "linux"}, {Name: "cpu", Value: "x"}},
		QueueKey: "os=linux", Priority: -3, Timeout: 90 * time.Second, DoNotCache: true,
		CreatedAt: at, Stage: repb.ExecutionStage_COMPLETED,
		QueuedAt: at.Add(time.Second), EnqueuedAt: at.Add(2 * time.Second), QueueSeq: 42, Attempt: 2,
		Lease:       scheduler.Lease{ID: "id1/tok", WorkerID: "w", Expiry: at.Add(time.Minute)},
		LostWorkers: []string{"w0"},
		Response:    &repb.ExecuteResponse{Message: "hi", Result: &repb.ActionResult{ExitCode: 3}},
		DoneAt:      at.Add(time.Hour), Version: 7,
	}
	blob, err := encodeOp(&op)
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{
		"d": blob, fieldStage: "4", fieldVersion: "7", fieldSeq: "42", fieldAttempt: "2",
		fieldLeaseID: "id1/tok", fieldLeaseWorker: "w", fieldLeaseExpiry: strconv.FormatInt(nanos(op.Lease.Expiry), 10),
	}
	got, err := decodeOp(fields)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got.Response, op.Response) {
		t.Errorf("response = %v, want %v", got.Response, op.Response)
	}
	for _, tm := range []struct {
		name      string
		got, want time.Time
	}{
		{"CreatedAt", got.CreatedAt, op.CreatedAt}, {"QueuedAt", got.QueuedAt, op.QueuedAt},
		{"EnqueuedAt", got.EnqueuedAt, op.EnqueuedAt}, {"DoneAt", got.DoneAt, op.DoneAt},
		{"Lease.Expiry", got.Lease.Expiry, op.Lease.Expiry},
	} {
		if !tm.got.Equal(tm.want) {
			t.Errorf("%s = %v, want %v", tm.name, tm.got, tm.want)
		}
	}
	// Compare the rest field by field, with times and the response out of
	// the way.
	norm := func(o scheduler.Operation) scheduler.Operation {
		o.CreatedAt, o.QueuedAt, o.EnqueuedAt, o.DoneAt, o.Lease.Expiry = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
		o.Response = nil
		return o
	}
	if g, w := norm(got), norm(op); !reflect.DeepEqual(g, w) {
		t.Errorf("decoded\n%+v\nwant\n%+v", g, w)
	}
}

func TestZeroTimesStayZero(t *testing.T) {
	op := scheduler.Operation{ID: "x", Stage: repb.ExecutionStage_QUEUED}
	blob, err := encodeOp(&op)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeOp(map[string]string{"d": blob, fieldStage: "2"})
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.IsZero() || !got.QueuedAt.IsZero() || !got.DoneAt.IsZero() || !got.Lease.Expiry.IsZero() {
		t.Errorf("zero times came back as %+v", got)
	}
	if got.Response != nil || got.Platform != nil || got.Stage != repb.ExecutionStage_QUEUED {
		t.Errorf("decoded %+v", got)
	}
}

func TestDecodeRejectsDamage(t *testing.T) {
	if _, err := decodeOp(map[string]string{"d": "{not json"}); err == nil {
		t.Errorf("a damaged record decoded")
	}
	if _, err := decodeOp(map[string]string{"d": `{"id":"x"}`, fieldVersion: "seven"}); err == nil {
		t.Errorf("a non-numeric version decoded")
	}
}
