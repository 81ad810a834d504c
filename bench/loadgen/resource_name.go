package loadgen

import (
	"crypto/rand"
	"fmt"
	"path"

	"github.com/kilnbuild/kiln/internal/digest"
)

// ReadResourceName is the ByteStream name to read d:
// {instance}/blobs/{df/}{hash}/{size}.
func ReadResourceName(instance string, d digest.Digest) string {
	return path.Join(instance, "blobs", blobPath(d))
}

// WriteResourceName is the ByteStream name to upload d under a fresh upload id:
// {instance}/uploads/{uuid}/blobs/{df/}{hash}/{size}.
func WriteResourceName(instance string, d digest.Digest) string {
	return path.Join(instance, "uploads", newUUID(), "blobs", blobPath(d))
}

// blobPath is {df/}{hash}/{size}; legacy functions are implied by the hash
// length and never named.
func blobPath(d digest.Digest) string {
	if digest.IsLegacy(d.Function) {
		return fmt.Sprintf("%s/%d", d.Hash, d.Size)
	}
	return fmt.Sprintf("%s/%s/%d", digest.FunctionName(d.Function), d.Hash, d.Size)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
