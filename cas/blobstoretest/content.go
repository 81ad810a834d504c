package blobstoretest

import (
	"encoding/binary"
	"encoding/hex"
	"io"

	"github.com/kilnbuild/kiln/internal/digest"
)

// patternReader streams size deterministic pseudo-random bytes derived from
// seed, without holding them: blob tests can go far beyond what they would
// want to keep in memory, and any range can be recomputed to check a read.
type patternReader struct {
	seed      uint64
	off, size int64
}

func newPatternReader(seed uint64, size int64) *patternReader {
	return &patternReader{seed: seed, size: size}
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.size-r.off)]
	fillPattern(p, r.seed, r.off)
	r.off += int64(len(p))
	return len(p), nil
}

// fillPattern writes the pattern bytes of seed at [off, off+len(p)) into p.
func fillPattern(p []byte, seed uint64, off int64) {
	var block [8]byte
	for i := 0; i < len(p); {
		pos := off + int64(i)
		binary.LittleEndian.PutUint64(block[:], splitmix64(seed^uint64(pos/8)))
		i += copy(p[i:], block[pos%8:])
	}
}

// patternBytes returns bytes [off, off+n) of the pattern of seed.
func patternBytes(seed uint64, off, n int64) []byte {
	p := make([]byte, n)
	fillPattern(p, seed, off)
	return p
}

// patternDigest is the digest under fn of the size-byte pattern of seed.
func patternDigest(fn digest.Function, seed uint64, size int64) digest.Digest {
	h := digest.NewHasher(fn)
	if _, err := io.Copy(h, newPatternReader(seed, size)); err != nil {
		panic(err) // hashes never fail
	}
	return digest.Digest{Function: fn, Hash: hex.EncodeToString(h.Sum(nil)), Size: size}
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// failingReader yields the first n bytes of r, then fails with err.
type failingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	p = p[:min(int64(len(p)), f.n)]
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

// chunkyReader returns at most chunk bytes per Read, as a network stream
// does, so stores that assume full reads are caught.
type chunkyReader struct {
	r     io.Reader
	chunk int
}

func (c *chunkyReader) Read(p []byte) (int, error) {
	return c.r.Read(p[:min(len(p), c.chunk)])
}
