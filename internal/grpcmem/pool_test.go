package grpcmem

import (
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/mem"
)

func TestPoolHandsOutTheLengthAskedFor(t *testing.T) {
	p := NewPool()
	for _, n := range []int{0, 1, 255, 256, 257, 1000, 1 << 14, 1<<20 + 1, 1 << 24, 1<<24 + 1} {
		b := p.Get(n)
		if len(*b) != n || cap(*b) < n {
			t.Errorf("Get(%d): len %d cap %d", n, len(*b), cap(*b))
		}
		p.Put(b)
	}
}

// TestPoolNeverHandsOutTooSmallABuffer returns buffers of awkward
// capacities, then asks for sizes just under and over each class.
func TestPoolNeverHandsOutTooSmallABuffer(t *testing.T) {
	p := NewPool()
	for range 100 {
		for _, c := range []int{100, 300, 3000, 4095, 4096, 4097, 70000, 1<<20 + 100} {
			b := make([]byte, 0, c)
			p.Put(&b)
		}
		for _, n := range []int{200, 256, 257, 2049, 4096, 4097, 65537, 1 << 20, 1<<20 + 1} {
			b := p.Get(n)
			if len(*b) != n || cap(*b) < n {
				t.Fatalf("Get(%d): len %d cap %d", n, len(*b), cap(*b))
			}
		}
	}
}

// poisonedPool fills every buffer it hands out and every buffer returned to
// it with a marker, so that a reader of bytes nobody wrote (or of a buffer
// after its release) sees garbage instead of plausible zeros.
type poisonedPool struct {
	pool *Pool
	gets atomic.Int64
}

const (
	poisonOnGet = 0xA5
	poisonOnPut = 0x5A
)

func (p *poisonedPool) Get(n int) *[]byte {
	p.gets.Add(1)
	b := p.pool.Get(n)
	full := (*b)[:cap(*b)]
	for i := range full {
		full[i] = poisonOnGet
	}
	return b
}

func (p *poisonedPool) Put(b *[]byte) {
	full := (*b)[:cap(*b)]
	for i := range full {
		full[i] = poisonOnPut
	}
	p.pool.Put(b)
}

var _ mem.BufferPool = (*poisonedPool)(nil)

// TestSizeClasses checks the class arithmetic on every size up to 64 KiB
// and on each side of every class boundary above.
func TestSizeClasses(t *testing.T) {
	sizes := []int{}
	for n := 1; n <= 1<<16; n++ {
		sizes = append(sizes, n)
	}
	for shift := 16; shift <= maxShift; shift++ {
		for j := range perDoubling {
			b := 1<<shift + j*(1<<shift/perDoubling)
			sizes = append(sizes, b-1, b, b+1)
		}
	}
	for _, n := range sizes {
		if n > 1<<maxShift {
			continue
		}
		class, size := classFor(n)
		if size < n || (n > 1<<minShift && 4*size > 5*n) {
			t.Fatalf("classFor(%d) = size %d: too small or more than a quarter too big", n, size)
		}
		if class < 0 || class >= numClasses || classWithin(size) != class {
			t.Fatalf("classFor(%d) = %d (size %d), but classWithin(%d) = %d", n, class, size, size, classWithin(size))
		}
		// A buffer of capacity n serves the largest class it can.
		if n >= 1<<minShift {
			c := classWithin(n)
			if sizeOf(c) > n || (c+1 < numClasses && sizeOf(c+1) <= n) {
				t.Fatalf("a buffer of capacity %d lands in class %d of size %d", n, c, sizeOf(c))
			}
		}
	}
}

// sizeOf is the size of a class, computed apart from the code under test.
func sizeOf(class int) int {
	shift := minShift + class/perDoubling
	return 1<<shift + class%perDoubling*(1<<shift/perDoubling)
}
