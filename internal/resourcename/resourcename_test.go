package resourcename

import (
	"errors"
	"strings"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/internal/digest"
)

var (
	sha256Hello = digest.OfBytes(repb.DigestFunction_SHA256, []byte("hello"))
	sha1Hello   = digest.OfBytes(repb.DigestFunction_SHA1, []byte("hello"))
	blake3Hello = digest.OfBytes(repb.DigestFunction_BLAKE3, []byte("hello"))
)

func TestParseRead(t *testing.T) {
	tests := []struct {
		name string
		want Blob
	}{
		{"blobs/" + sha256Hello.String(), Blob{Digest: sha256Hello, Compressor: repb.Compressor_IDENTITY}},
		{"main/blobs/" + sha256Hello.String(), Blob{Instance: "main", Digest: sha256Hello}},
		{"a/b/c/blobs/" + sha1Hello.String(), Blob{Instance: "a/b/c", Digest: sha1Hello}},
		// A BLAKE3 hash has the length of a SHA256 one: only the df segment tells them apart.
		{"blobs/blake3/" + blake3Hello.String(), Blob{Digest: blake3Hello}},
		{"x/compressed-blobs/zstd/" + sha256Hello.String(), Blob{Instance: "x", Digest: sha256Hello, Compressor: repb.Compressor_ZSTD}},
		{"compressed-blobs/zstd/blake3/" + blake3Hello.String(), Blob{Digest: blake3Hello, Compressor: repb.Compressor_ZSTD}},
	}
	for _, tt := range tests {
		got, err := ParseRead(tt.name)
		if err != nil {
			t.Errorf("ParseRead(%q): %v", tt.name, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseRead(%q) = %+v, want %+v", tt.name, got, tt.want)
		}
		if s := got.String(); s != tt.name {
			t.Errorf("ParseRead(%q).String() = %q", tt.name, s)
		}
	}
}

func TestParseReadRejects(t *testing.T) {
	h := sha256Hello.Hash
	tests := map[string]string{
		"":                                      "is empty",
		"main/" + h + "/5":                      "no \"blobs\"",
		"/blobs/" + h + "/5":                    "empty path segment",
		"a//b/blobs/" + h + "/5":                "empty path segment",
		"blobs/" + h:                            "missing hash and size",
		"blobs/" + h + "/-5":                    "size \"-5\"",
		"blobs/" + h + "/+5":                    "size \"+5\"",
		"blobs/" + h + "/5x":                    "size \"5x\"",
		"blobs/" + h + "/99999999999999999999":  "size",
		"blobs/" + h + "/5/extra":               "unexpected \"extra\"",
		"blobs/" + h[:10] + "/5":                "cannot infer a digest function",
		"blobs/" + strings.ToUpper(h) + "/5":    "not lowercase hex",
		"blobs/md5/" + h[:32] + "/5":            "not supported",
		"blobs/blake3/" + h[:40] + "/5":         "must have 64 hex characters",
		"compressed-blobs/identity/" + h + "/5": "unknown compressor \"identity\"",
		"compressed-blobs/snappy/" + h + "/5":   "unknown compressor \"snappy\"",
		"compressed-blobs/ZSTD/" + h + "/5":     "unknown compressor \"ZSTD\"",
		"uploads/u/blobs/" + h + "/5":           "expected \"blobs\" or \"compressed-blobs\"",
	}
	for name, wantMsg := range tests {
		_, err := ParseRead(name)
		if err == nil {
			t.Errorf("ParseRead(%q) succeeded", name)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseRead(%q) = %v, does not wrap ErrInvalid", name, err)
		}
		if !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("ParseRead(%q) = %v, want it to mention %q", name, err, wantMsg)
		}
	}
}

func TestParseWrite(t *testing.T) {
	tests := []struct {
		name string
		want Upload
	}{
		{"uploads/u1/blobs/" + sha256Hello.String(), Upload{UUID: "u1", Blob: Blob{Digest: sha256Hello}}},
		{"a/b/uploads/u1/blobs/" + sha256Hello.String(), Upload{UUID: "u1", Blob: Blob{Instance: "a/b", Digest: sha256Hello}}},
		{"uploads/u1/blobs/blake3/" + blake3Hello.String() + "/meta/data", Upload{UUID: "u1", Metadata: "meta/data", Blob: Blob{Digest: blake3Hello}}},
		// Metadata is free text: keywords in it do not confuse the parser.
		{"i/uploads/u1/compressed-blobs/zstd/" + sha256Hello.String() + "/blobs/uploads", Upload{UUID: "u1", Metadata: "blobs/uploads", Blob: Blob{Instance: "i", Digest: sha256Hello, Compressor: repb.Compressor_ZSTD}}},
	}
	for _, tt := range tests {
		got, err := ParseWrite(tt.name)
		if err != nil {
			t.Errorf("ParseWrite(%q): %v", tt.name, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseWrite(%q) = %+v, want %+v", tt.name, got, tt.want)
		}
		if s := got.String(); s != tt.name {
			t.Errorf("ParseWrite(%q).String() = %q", tt.name, s)
		}
	}
}

func TestParseWriteRejects(t *testing.T) {
	s := sha256Hello.String()
	tests := map[string]string{
		"blobs/" + s:                       "expected \"uploads\"",
		"uploads/blobs/" + s:               "expected \"blobs\" or \"compressed-blobs\"",
		"uploads//blobs/" + s:              "missing the upload id",
		"uploads":                          "missing the upload id",
		"uploads/u1/" + s:                  "expected \"blobs\" or \"compressed-blobs\"",
		"uploads/u1/blobs/" + s[:10]:       "missing hash and size",
		"uploads/u1/compressed-blobs/zstd": "missing hash and size",
	}
	for name, wantMsg := range tests {
		_, err := ParseWrite(name)
		if err == nil {
			t.Errorf("ParseWrite(%q) succeeded", name)
			continue
		}
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("ParseWrite(%q) = %v, want ErrInvalid mentioning %q", name, err, wantMsg)
		}
	}
}

func TestLegacyFunctionIsNeverFormatted(t *testing.T) {
	got := Blob{Instance: "i", Digest: sha256Hello}.String()
	if strings.Contains(got, "sha256") {
		t.Errorf("String() = %q names a legacy function", got)
	}
	// A client that names a legacy function anyway is understood.
	b, err := ParseRead("blobs/sha256/" + sha256Hello.String())
	if err != nil || b.Digest != sha256Hello {
		t.Errorf("ParseRead with explicit sha256 = %+v, %v", b, err)
	}
}
