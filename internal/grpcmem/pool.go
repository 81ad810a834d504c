// Package grpcmem owns the memory gRPC borrows for messages in Kiln's
// servers and in the load generator: a buffer pool that, unlike gRPC's
// default one, does not zero the buffers it hands out, and a proto codec
// that takes its buffers from that pool. Zeroing cost up to a tenth of
// kiln's CPU when it served large blobs; nothing read the zeros.
//
// Skipping the zeroing is safe only because every user of these buffers
// overwrites the bytes it was handed before anything reads them. For gRPC
// v1.85 that was checked at every Get: the HTTP/2 framer (io.ReadFull of a
// whole frame), receive-buffer compaction and BufferSlice.MaterializeToBuffer
// (a copy of exactly the length asked for), mem.ReadAll and the handler
// transport (sliced to what was read). Codec.Marshal checks it for itself.
// The tests run real gRPC traffic through pools that fill every buffer with
// garbage, and would catch a version of gRPC that broke this.
//
// It must not import Kiln's packages: the load generator uses it too.
package grpcmem

import (
	"math/bits"
	"sync"

	"google.golang.org/grpc/mem"
)

// Size classes run from 2^minShift to 2^maxShift bytes, four to each
// doubling (1, 1.25, 1.5 and 1.75 times a power of two), so that a buffer is
// at most a quarter larger than asked for: a 1 MiB blob chunk with its few
// bytes of framing gets 1.25 MiB, not 2. The largest class covers a default
// 16 MiB message; larger buffers are allocated and left to the collector.
const (
	minShift    = 8
	maxShift    = 24
	perDoubling = 4
	numClasses  = (maxShift-minShift)*perDoubling + 1
)

// Pool is a mem.BufferPool that does not zero the buffers it hands out:
// a buffer from Get holds whatever its last user left in it.
type Pool struct {
	classes [numClasses]sync.Pool
}

var _ mem.BufferPool = (*Pool)(nil)

// NewPool returns an empty Pool.
func NewPool() *Pool { return &Pool{} }

// Get returns a buffer of length n; its content is undefined.
func (p *Pool) Get(n int) *[]byte {
	if n <= 0 {
		b := []byte{}
		return &b
	}
	if n > 1<<maxShift {
		b := make([]byte, n)
		return &b
	}
	class, size := classFor(n)
	if v, ok := p.classes[class].Get().(*[]byte); ok {
		*v = (*v)[:n]
		return v
	}
	b := make([]byte, n, size)
	return &b
}

// Put returns a buffer to the pool, in the largest class its capacity
// serves in full.
func (p *Pool) Put(b *[]byte) {
	c := cap(*b)
	if c < 1<<minShift || c > 1<<maxShift {
		return
	}
	p.classes[classWithin(c)].Put(b)
}

// classFor returns the smallest class that holds n bytes, 0 < n <= 2^maxShift,
// and its size.
func classFor(n int) (class, size int) {
	if n <= 1<<minShift {
		return 0, 1 << minShift
	}
	shift := bits.Len(uint(n-1)) - 1 // 2^shift < n <= 2^(shift+1)
	step := 1 << shift / perDoubling
	j := (n - 1<<shift + step - 1) / step // 1..perDoubling
	return (shift-minShift)*perDoubling + j, 1<<shift + j*step
}

// classWithin returns the largest class whose size is at most c, for
// 2^minShift <= c <= 2^maxShift.
func classWithin(c int) int {
	shift := bits.Len(uint(c)) - 1 // 2^shift <= c < 2^(shift+1)
	step := 1 << shift / perDoubling
	return (shift-minShift)*perDoubling + (c-1<<shift)/step
}
