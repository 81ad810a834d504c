package digest

import (
	"errors"
	"strings"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
)

// TestNewAcceptsOnlyLowercaseHex puts every byte value at the start, in the
// middle and at the end of an otherwise valid hash: exactly 0-9 and a-f pass.
func TestNewAcceptsOnlyLowercaseHex(t *testing.T) {
	valid := strings.Repeat("0", 64)
	for c := range 256 {
		want := '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
		for _, pos := range []int{0, 31, 63} {
			hash := valid[:pos] + string([]byte{byte(c)}) + valid[pos+1:]
			_, err := New(repb.DigestFunction_SHA256, hash, 1)
			if want && err != nil {
				t.Errorf("byte %#x at %d: rejected: %v", c, pos, err)
			}
			if !want {
				if err == nil {
					t.Errorf("byte %#x at %d: accepted", c, pos)
				} else if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "not lowercase hex") {
					t.Errorf("byte %#x at %d: error %q does not name the problem", c, pos, err)
				}
			}
		}
	}
}

func TestNewRejectsMalformedDigests(t *testing.T) {
	sha256Hex := OfBytes(repb.DigestFunction_SHA256, []byte("x")).Hash
	for _, tc := range []struct {
		name string
		fn   Function
		hash string
		size int64
		want string
	}{
		{"unsupported function", repb.DigestFunction_MD5, strings.Repeat("0", 32), 1, "not supported"},
		{"short hash", repb.DigestFunction_SHA256, sha256Hex[:63], 1, "must have 64 hex characters"},
		{"uppercase", repb.DigestFunction_SHA256, strings.ToUpper(sha256Hex), 1, "not lowercase hex"},
		{"negative size", repb.DigestFunction_SHA256, sha256Hex, -1, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.fn, tc.hash, tc.size)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v; want an ErrInvalid naming %q", err, tc.want)
			}
		})
	}
	d, err := New(repb.DigestFunction_SHA256, sha256Hex, 1)
	if err != nil || d != OfBytes(repb.DigestFunction_SHA256, []byte("x")) {
		t.Errorf("New of a valid digest = %v, %v", d, err)
	}
}

// BenchmarkNew validates random SHA-256 hashes, as FindMissingBlobs does for
// every digest it is sent. Random hex defeats branch prediction the way real
// hashes do.
func BenchmarkNew(b *testing.B) {
	hashes := make([]string, 1024)
	for i := range hashes {
		hashes[i] = OfBytes(repb.DigestFunction_SHA256, []byte{byte(i), byte(i >> 8)}).Hash
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := New(repb.DigestFunction_SHA256, hashes[i%len(hashes)], 42); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
