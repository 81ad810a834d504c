package loadgen

import (
	"regexp"
	"strings"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/internal/digest"
)

func TestResourceNames(t *testing.T) {
	sha := digest.OfBytes(repb.DigestFunction_SHA256, []byte("x"))
	b3 := digest.OfBytes(repb.DigestFunction_BLAKE3, []byte("x"))
	for _, tc := range []struct {
		instance string
		d        digest.Digest
		read     string
	}{
		{"", sha, "blobs/" + sha.Hash + "/1"},
		{"main", sha, "main/blobs/" + sha.Hash + "/1"},
		{"a/b", b3, "a/b/blobs/blake3/" + b3.Hash + "/1"},
	} {
		if got := ReadResourceName(tc.instance, tc.d); got != tc.read {
			t.Errorf("ReadResourceName(%q) = %q, want %q", tc.instance, got, tc.read)
		}
		w := WriteResourceName(tc.instance, tc.d)
		uuid := `[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`
		prefix := strings.TrimSuffix(tc.instance+"/", "/")
		if prefix != "" {
			prefix += "/"
		}
		pattern := "^" + regexp.QuoteMeta(prefix) + "uploads/" + uuid + "/" + regexp.QuoteMeta(strings.TrimPrefix(tc.read, prefix)) + "$"
		if !regexp.MustCompile(pattern).MatchString(w) {
			t.Errorf("WriteResourceName(%q) = %q, want it to match %s", tc.instance, w, pattern)
		}
	}
	if WriteResourceName("", sha) == WriteResourceName("", sha) {
		t.Error("two writes got the same upload id")
	}
}
