package loadgen

import (
	"bytes"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/zeebo/blake3"

	"github.com/kilnbuild/kiln/internal/digest"
)

// tagSize is the length of the unique tag that ends every generated blob.
const tagSize = 16

// Blob is a blob to upload: a body, usually shared, and a tag that makes it
// unique. A generated blob's body is a window on the generator's pool and
// never copied; its tag is 16 bytes. A blob made by NewBlob has no tag.
type Blob struct {
	Digest digest.Digest
	body   []byte
	tag    []byte
}

// NewBlob wraps data, which the caller must not change afterwards.
func NewBlob(fn digest.Function, data []byte) Blob {
	return Blob{Digest: digest.OfBytes(fn, data), body: data}
}

// Chunks calls fn with the blob's bytes in order, in pieces of at most
// size bytes. Only the piece that holds the tag is copied (into scratch, which
// must be at least size bytes long, or nil to allocate).
func (b Blob) Chunks(size int, scratch []byte, fn func([]byte) error) error {
	body := b.body
	for len(body) >= size {
		if err := fn(body[:size]); err != nil {
			return err
		}
		body = body[size:]
	}
	// What is left of the body plus the tag fits in at most two pieces.
	rest := append(append(scratch[:0], body...), b.tag...)
	for len(rest) > 0 {
		n := min(size, len(rest))
		if err := fn(rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return nil
}

// Bytes returns a copy of the whole blob; for small blobs sent inline.
func (b Blob) Bytes() []byte {
	return append(append(make([]byte, 0, b.Digest.Size), b.body...), b.tag...)
}

// HasTag reports whether tail, the last bytes of some content, ends with this
// blob's tag: a cheap check that a read returned this blob and not another.
func (b Blob) HasTag(tail []byte) bool { return bytes.HasSuffix(tail, b.tag) }

// BlobGenerator makes blobs whose content no server has seen, cheaply.
//
// Every blob of a given size shares its body (size-16 random bytes from one
// pool) and ends with a tag unique to the run and the blob. The hash state
// after the body is computed once per size and cloned per blob, so a new
// 64 MiB blob costs hashing 16 bytes, not 64 MiB: the generator can never be
// the bottleneck, while the server still receives, hashes and stores every
// byte of a blob it cannot have seen. The tag comes last so that a server
// cannot tell blobs apart before it has read them whole.
type BlobGenerator struct {
	fn      digest.Function
	pool    []byte
	nonce   uint64
	counter atomic.Uint64

	mu     sync.Mutex
	bodies map[int64]hash.Hash // size → hash state after the body
}

// NewBlobGenerator returns a generator of blobs up to maxSize bytes hashed
// with fn. It fills its pool with random bytes now.
func NewBlobGenerator(fn digest.Function, maxSize int64) (*BlobGenerator, error) {
	if !digest.Supported(fn) {
		return nil, fmt.Errorf("digest function %s is not supported", fn)
	}
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("seeding the blob generator: %w", err)
	}
	pool := make([]byte, max(maxSize-tagSize, 0))
	prng := rand.NewChaCha8(seed)
	_, _ = prng.Read(pool) // never fails
	return &BlobGenerator{
		fn:     fn,
		pool:   pool,
		nonce:  binary.LittleEndian.Uint64(seed[:8]) ^ prng.Uint64(),
		bodies: make(map[int64]hash.Hash),
	}, nil
}

// Prepare hashes the body for blobs of size bytes, so that the first Next
// of that size does not pay for it inside a timed phase.
func (g *BlobGenerator) Prepare(size int64) error {
	_, err := g.bodyState(size)
	return err
}

func (g *BlobGenerator) bodyState(size int64) (hash.Hash, error) {
	if size < tagSize || size-tagSize > int64(len(g.pool)) {
		return nil, fmt.Errorf("blob size %d is outside the generator's range [%d, %d]", size, tagSize, len(g.pool)+tagSize)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if h, ok := g.bodies[size]; ok {
		return h, nil
	}
	h := digest.NewHasher(g.fn)
	h.Write(g.pool[:size-tagSize])
	if _, err := cloneHash(h); err != nil {
		return nil, err
	}
	g.bodies[size] = h
	return h, nil
}

// Next returns a new unique blob of size bytes (at least 16).
func (g *BlobGenerator) Next(size int64) (Blob, error) {
	state, err := g.bodyState(size)
	if err != nil {
		return Blob{}, err
	}
	h, err := cloneHash(state)
	if err != nil {
		return Blob{}, err
	}
	b := Blob{body: g.pool[:size-tagSize], tag: make([]byte, tagSize)}
	binary.LittleEndian.PutUint64(b.tag[:8], g.nonce)
	binary.LittleEndian.PutUint64(b.tag[8:], g.counter.Add(1))
	h.Write(b.tag)
	b.Digest = digest.Digest{Function: g.fn, Hash: hex.EncodeToString(h.Sum(nil)), Size: size}
	return b, nil
}

// cloneHash copies a hash state. The standard library's hashes are
// hash.Cloners; BLAKE3's has its own Clone.
func cloneHash(h hash.Hash) (hash.Hash, error) {
	switch c := h.(type) {
	case *blake3.Hasher:
		return c.Clone(), nil
	case hash.Cloner:
		cl, err := c.Clone()
		if err != nil {
			return nil, fmt.Errorf("cloning hash state: %w", err)
		}
		return cl, nil
	}
	return nil, fmt.Errorf("hash %T cannot be cloned", h)
}
