package redisstate

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/internal/digest"
	"github.com/kilnbuild/kiln/scheduler"
)

// record is the JSON of an operation in field "d" of its hash. The fields
// the scripts read or change themselves (stage, version, queue sequence,
// attempt, lease) live in hash fields of their own and are not in it.
type record struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Instance    string     `json:"inst,omitempty"`
	Function    int32      `json:"fn"`
	Hash        string     `json:"hash"`
	Size        int64      `json:"size"`
	DedupKey    string     `json:"dk,omitempty"`
	Platform    []property `json:"plat,omitempty"`
	QueueKey    string     `json:"qk"`
	Priority    int32      `json:"pr,omitempty"`
	Timeout     int64      `json:"to,omitempty"` // ns
	DoNotCache  bool       `json:"dnc,omitempty"`
	CreatedAt   int64      `json:"created,omitempty"` // unix ns, 0 for the zero time
	QueuedAt    int64      `json:"queued,omitempty"`
	EnqueuedAt  int64      `json:"enqueued,omitempty"`
	DoneAt      int64      `json:"done,omitempty"`
	LostWorkers []string   `json:"lost,omitempty"`
	Response    []byte     `json:"resp,omitempty"` // ExecuteResponse, binary proto
}

type property struct {
	Name  string `json:"n"`
	Value string `json:"v"`
}

// Hash fields of an operation besides "d".
const (
	fieldStage       = "st"
	fieldVersion     = "v"
	fieldSeq         = "seq"
	fieldAttempt     = "att"
	fieldLeaseID     = "lid"
	fieldLeaseWorker = "lw"
	fieldLeaseExpiry = "lexp" // unix ns
)

func encodeOp(op *scheduler.Operation) (string, error) {
	r := record{
		ID: op.ID, Name: op.Name, Instance: op.Instance,
		Function: int32(op.Action.Function), Hash: op.Action.Hash, Size: op.Action.Size,
		DedupKey: op.DedupKey, QueueKey: op.QueueKey, Priority: op.Priority,
		Timeout: int64(op.Timeout), DoNotCache: op.DoNotCache,
		CreatedAt: nanos(op.CreatedAt), QueuedAt: nanos(op.QueuedAt),
		EnqueuedAt: nanos(op.EnqueuedAt), DoneAt: nanos(op.DoneAt),
		LostWorkers: op.LostWorkers,
	}
	for _, p := range op.Platform {
		r.Platform = append(r.Platform, property{Name: p.Name, Value: p.Value})
	}
	if op.Response != nil {
		b, err := proto.Marshal(op.Response)
		if err != nil {
			return "", fmt.Errorf("encoding the response of %s: %w", op.ID, err)
		}
		r.Response = b
	}
	b, err := json.Marshal(&r)
	if err != nil {
		return "", fmt.Errorf("encoding operation %s: %w", op.ID, err)
	}
	return string(b), nil
}

// decodeOp rebuilds an operation from all the fields of its hash.
func decodeOp(f map[string]string) (scheduler.Operation, error) {
	var r record
	if err := json.Unmarshal([]byte(f["d"]), &r); err != nil {
		return scheduler.Operation{}, fmt.Errorf("decoding a stored operation: %w", err)
	}
	op := scheduler.Operation{
		ID: r.ID, Name: r.Name, Instance: r.Instance,
		Action:   digest.Digest{Function: digest.Function(r.Function), Hash: r.Hash, Size: r.Size},
		DedupKey: r.DedupKey, QueueKey: r.QueueKey, Priority: r.Priority,
		Timeout: time.Duration(r.Timeout), DoNotCache: r.DoNotCache,
		CreatedAt: fromNanos(r.CreatedAt), QueuedAt: fromNanos(r.QueuedAt),
		EnqueuedAt: fromNanos(r.EnqueuedAt), DoneAt: fromNanos(r.DoneAt),
		LostWorkers: r.LostWorkers,
	}
	for _, p := range r.Platform {
		op.Platform = append(op.Platform, scheduler.Property{Name: p.Name, Value: p.Value})
	}
	if r.Response != nil {
		op.Response = &repb.ExecuteResponse{}
		if err := proto.Unmarshal(r.Response, op.Response); err != nil {
			return scheduler.Operation{}, fmt.Errorf("decoding the response of %s: %w", r.ID, err)
		}
	}
	ints := []struct {
		field string
		set   func(int64)
	}{
		{fieldStage, func(v int64) { op.Stage = repb.ExecutionStage_Value(v) }},
		{fieldVersion, func(v int64) { op.Version = v }},
		{fieldSeq, func(v int64) { op.QueueSeq = v }},
		{fieldAttempt, func(v int64) { op.Attempt = int32(v) }},
		{fieldLeaseExpiry, func(v int64) { op.Lease.Expiry = fromNanos(v) }},
	}
	for _, i := range ints {
		v, err := parseInt(f[i.field])
		if err != nil {
			return scheduler.Operation{}, fmt.Errorf("operation %s field %s: %w", r.ID, i.field, err)
		}
		i.set(v)
	}
	op.Lease.ID, op.Lease.WorkerID = f[fieldLeaseID], f[fieldLeaseWorker]
	return op, nil
}

func parseInt(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// nanos and micros encode times, the zero time as 0. Nanoseconds keep a
// time exactly; microseconds are what sorted-set scores hold exactly (a
// score is a float64).
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Script replies.

// replyList is a script's array reply.
func replyList(v any) ([]any, error) {
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("unexpected script reply %T", v)
	}
	return l, nil
}

// replyFields turns a flat HGETALL reply into a map.
func replyFields(v any) (map[string]string, error) {
	l, err := replyList(v)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(l)/2)
	for i := 0; i+1 < len(l); i += 2 {
		k, err := replyString(l[i])
		if err != nil {
			return nil, err
		}
		if m[k], err = replyString(l[i+1]); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func replyString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("unexpected script reply element %T", v)
}

func replyInt(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case string:
		return parseInt(x)
	}
	return 0, fmt.Errorf("unexpected script reply element %T", v)
}
