package grpcmem

import (
	"bytes"
	"fmt"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
)

// Codec is gRPC's proto codec with its buffers from a pool of the caller's
// choice. gRPC's own codec always uses mem.DefaultBufferPool, which zeroes
// every buffer (a 1 MiB ByteStream message costs a 1 MiB clear on the way
// in and on the way out), and can only be swapped process-wide.
type Codec struct {
	pool mem.BufferPool
}

var _ encoding.CodecV2 = Codec{}

// NewCodec returns a proto codec whose buffers come from pool.
func NewCodec(pool mem.BufferPool) Codec { return Codec{pool: pool} }

// Name is "proto", as for gRPC's codec: the content-subtype stays the same.
func (Codec) Name() string { return "proto" }

// Marshal encodes v into one buffer of the pool.
func (c Codec) Marshal(v any) (mem.BufferSlice, error) {
	m, err := messageOf(v)
	if err != nil {
		return nil, err
	}
	size := proto.Size(m)
	opts := proto.MarshalOptions{UseCachedSize: true} // the size was just computed
	if mem.IsBelowBufferPoolingThreshold(size) {
		b, err := opts.Marshal(m)
		if err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	buf := c.pool.Get(size)
	out, err := opts.MarshalAppend((*buf)[:0], m)
	if err != nil {
		c.pool.Put(buf)
		return nil, err
	}
	// The buffer was not zeroed, so it may only be sent if the encoding
	// filled it exactly. Anything else means the message changed between
	// Size and Marshal (a caller's bug): send what was encoded, never the
	// previous user's bytes.
	if len(out) != size || &out[0] != &(*buf)[0] {
		out = bytes.Clone(out)
		c.pool.Put(buf)
		return mem.BufferSlice{mem.SliceBuffer(out)}, nil
	}
	return mem.BufferSlice{mem.NewBuffer(buf, c.pool)}, nil
}

// Unmarshal decodes data into v. proto.Unmarshal copies what it keeps, so
// the joined buffer goes back to the pool at once.
func (c Codec) Unmarshal(data mem.BufferSlice, v any) error {
	m, err := messageOf(v)
	if err != nil {
		return err
	}
	buf := data.MaterializeToBuffer(c.pool)
	defer buf.Free()
	return proto.Unmarshal(buf.ReadOnlyData(), m)
}

func messageOf(v any) (proto.Message, error) {
	switch v := v.(type) {
	case protoadapt.MessageV1:
		return protoadapt.MessageV2Of(v), nil
	case protoadapt.MessageV2:
		return v, nil
	}
	return nil, fmt.Errorf("grpcmem: cannot encode %T: not a proto message", v)
}
