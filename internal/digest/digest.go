// Package digest owns REAPI content digests: which hash functions Kiln
// speaks, how a digest is validated, hashed and printed. Every other package
// passes digests around as digest.Digest, never as raw protos, so that a
// digest that got this far has already been checked.
package digest

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/zeebo/blake3"
)

// Function is a REAPI digest function.
type Function = repb.DigestFunction_Value

// Functions lists the digest functions Kiln implements, in the order they are
// advertised. SHA256 comes first: it is what a client gets when it names none.
var Functions = []Function{
	repb.DigestFunction_SHA256,
	repb.DigestFunction_SHA1,
	repb.DigestFunction_SHA384,
	repb.DigestFunction_SHA512,
	repb.DigestFunction_BLAKE3,
}

// ErrInvalid is wrapped by every error about a malformed digest, so callers
// can turn it into INVALID_ARGUMENT.
var ErrInvalid = errors.New("invalid digest")

// Digest identifies a blob: the function that hashed it, the lowercase hex
// hash and the size in bytes. The zero value is not a valid digest.
type Digest struct {
	Function Function
	Hash     string
	Size     int64
}

// hashLength returns the length in hex characters of a hash made by fn, or 0
// if Kiln does not implement fn.
func hashLength(fn Function) int {
	switch fn {
	case repb.DigestFunction_SHA256, repb.DigestFunction_BLAKE3:
		return 64
	case repb.DigestFunction_SHA1:
		return 40
	case repb.DigestFunction_SHA384:
		return 96
	case repb.DigestFunction_SHA512:
		return 128
	}
	return 0
}

// Supported reports whether Kiln implements fn.
func Supported(fn Function) bool { return hashLength(fn) != 0 }

// IsLegacy reports whether fn is one of the functions that REAPI lets a
// client leave implicit (inferred from the hash length) and that never appear
// in ByteStream resource names.
func IsLegacy(fn Function) bool {
	switch fn {
	case repb.DigestFunction_SHA256, repb.DigestFunction_SHA1, repb.DigestFunction_MD5,
		repb.DigestFunction_SHA384, repb.DigestFunction_SHA512, repb.DigestFunction_VSO:
		return true
	}
	return false
}

// Resolve picks the function of a request. An explicit function must be one
// Kiln implements. UNKNOWN means the client predates digest_function: the
// function is then inferred from the length of a hash in the request, among
// the legacy functions only (checklist item 2). sampleHash may be empty when
// the request carries no digest; SHA256 is assumed then.
func Resolve(requested Function, sampleHash string) (Function, error) {
	if requested != repb.DigestFunction_UNKNOWN {
		if !Supported(requested) {
			return 0, fmt.Errorf("%w: digest function %s is not supported", ErrInvalid, requested)
		}
		return requested, nil
	}
	if sampleHash == "" {
		return repb.DigestFunction_SHA256, nil
	}
	for _, fn := range Functions {
		if IsLegacy(fn) && hashLength(fn) == len(sampleHash) {
			return fn, nil
		}
	}
	return 0, fmt.Errorf("%w: cannot infer a digest function from a hash of %d characters", ErrInvalid, len(sampleHash))
}

// ParseFunctionName maps the lowercase name used in ByteStream resource
// names ("blake3", "sha256", ...) to a function.
func ParseFunctionName(name string) (Function, bool) {
	v, ok := repb.DigestFunction_Value_value[strings.ToUpper(name)]
	if !ok || v == 0 {
		return 0, false
	}
	return Function(v), true
}

// FunctionName is the lowercase name of fn as it appears in resource names.
func FunctionName(fn Function) string { return strings.ToLower(fn.String()) }

// New validates its arguments and returns the digest they describe.
func New(fn Function, hash string, size int64) (Digest, error) {
	n := hashLength(fn)
	if n == 0 {
		return Digest{}, fmt.Errorf("%w: digest function %s is not supported", ErrInvalid, fn)
	}
	if len(hash) != n {
		return Digest{}, fmt.Errorf("%w: %s hash %q must have %d hex characters, has %d", ErrInvalid, FunctionName(fn), hash, n, len(hash))
	}
	// One table lookup per character and one test at the end: with random
	// hashes, a compare-and-branch per character mispredicted so often that
	// this check was a fifth of the server's CPU under FindMissingBlobs.
	var bad byte
	for i := 0; i < len(hash); i++ {
		bad |= notLowerHex[hash[i]]
	}
	if bad != 0 {
		return Digest{}, fmt.Errorf("%w: hash %q is not lowercase hex", ErrInvalid, hash)
	}
	if size < 0 {
		return Digest{}, fmt.Errorf("%w: size %d of %s is negative", ErrInvalid, size, hash)
	}
	return Digest{Function: fn, Hash: hash, Size: size}, nil
}

// notLowerHex is 1 for every byte that is not a lowercase hex digit. It is
// read-only after package initialisation.
var notLowerHex = func() (t [256]byte) {
	for c := range t {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			t[c] = 1
		}
	}
	return t
}()

// FromProto validates a proto digest hashed with fn. A nil digest is invalid.
func FromProto(fn Function, d *repb.Digest) (Digest, error) {
	if d == nil {
		return Digest{}, fmt.Errorf("%w: digest is missing", ErrInvalid)
	}
	return New(fn, d.GetHash(), d.GetSizeBytes())
}

// Proto returns the wire form of d.
func (d Digest) Proto() *repb.Digest {
	return &repb.Digest{Hash: d.Hash, SizeBytes: d.Size}
}

// String prints d as "hash/size", the form used in REAPI error subjects and
// resource names (without the function, which the context gives).
func (d Digest) String() string { return fmt.Sprintf("%s/%d", d.Hash, d.Size) }

// IsEmpty reports whether d is the digest of the empty blob, which every
// store holds implicitly (checklist item 3).
func (d Digest) IsEmpty() bool { return d.Size == 0 && d == Empty(d.Function) }

// NewHasher returns a fresh hash.Hash for fn. It panics for a function that
// Supported rejects: callers only hold validated digests.
func NewHasher(fn Function) hash.Hash {
	switch fn {
	case repb.DigestFunction_SHA256:
		return sha256.New()
	case repb.DigestFunction_SHA1:
		return sha1.New()
	case repb.DigestFunction_SHA384:
		return sha512.New384()
	case repb.DigestFunction_SHA512:
		return sha512.New()
	case repb.DigestFunction_BLAKE3:
		return blake3.New()
	}
	panic(fmt.Sprintf("digest: unsupported function %s", fn))
}

// OfBytes returns the digest of b under fn.
func OfBytes(fn Function, b []byte) Digest {
	h := NewHasher(fn)
	h.Write(b)
	return Digest{Function: fn, Hash: hex.EncodeToString(h.Sum(nil)), Size: int64(len(b))}
}

var emptyDigests = func() map[Function]Digest {
	m := make(map[Function]Digest, len(Functions))
	for _, fn := range Functions {
		m[fn] = OfBytes(fn, nil)
	}
	return m
}()

// Empty returns the digest of the empty blob under fn.
func Empty(fn Function) Digest { return emptyDigests[fn] }
