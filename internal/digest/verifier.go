package digest

import (
	"encoding/hex"
	"fmt"
	"hash"
	"io"
)

// ErrMismatch is wrapped by the error a Verifier reports when the bytes do
// not hash to the expected digest, or have another size.
var ErrMismatch = fmt.Errorf("%w: content does not match digest", ErrInvalid)

// Verifier hashes bytes written to it and checks them against an expected
// digest. Stores write through one while they stream a blob to its temporary
// place, and make the blob visible only when Verify returns nil.
type Verifier struct {
	want Digest
	h    hash.Hash
	n    int64
}

// NewVerifier starts verifying bytes against want.
func NewVerifier(want Digest) *Verifier {
	return &Verifier{want: want, h: NewHasher(want.Function)}
}

// Write hashes p. It fails as soon as more bytes arrive than the digest's
// size, so a client cannot make a store spool an endless stream.
func (v *Verifier) Write(p []byte) (int, error) {
	if v.n+int64(len(p)) > v.want.Size {
		return 0, fmt.Errorf("%w: more than the %d bytes of %s", ErrMismatch, v.want.Size, v.want)
	}
	v.n += int64(len(p))
	return v.h.Write(p)
}

// Written is the number of bytes hashed so far.
func (v *Verifier) Written() int64 { return v.n }

// Verify reports whether everything written so far is exactly the expected blob.
func (v *Verifier) Verify() error {
	if v.n != v.want.Size {
		return fmt.Errorf("%w: got %d bytes for %s", ErrMismatch, v.n, v.want)
	}
	if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want.Hash {
		return fmt.Errorf("%w: bytes hash to %s, not %s", ErrMismatch, got, v.want.Hash)
	}
	return nil
}

// Copy streams r to w through a Verifier for want and verifies the result.
func Copy(w io.Writer, r io.Reader, want Digest) error {
	v := NewVerifier(want)
	if _, err := io.Copy(io.MultiWriter(v, w), r); err != nil {
		return err
	}
	return v.Verify()
}
