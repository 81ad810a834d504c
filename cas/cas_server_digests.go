package cas

import (
	"fmt"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/internal/digest"
)

// requestFunction picks the one digest function of a request (checklist
// item 2): the explicit one, else the legacy function whose hash length
// matches the request's first digest.
func requestFunction(requested digest.Function, first *repb.Digest) (digest.Function, error) {
	return digest.Resolve(requested, first.GetHash())
}

// parseDigest validates a digest of a request whose function is fn.
func parseDigest(fn digest.Function, pd *repb.Digest) (digest.Digest, error) {
	d, err := digest.FromProto(fn, pd)
	if err != nil {
		return digest.Digest{}, err
	}
	return d, checkSize(d)
}

// checkSize rejects the one size error a server can see without the bytes
// (checklist item 1): the hash of the empty blob with a size other than 0.
func checkSize(d digest.Digest) error {
	if d.Size != 0 && d.Hash == digest.Empty(d.Function).Hash {
		return fmt.Errorf("%w: %s is the hash of the empty blob, but the size is %d, not 0", digest.ErrInvalid, d.Hash, d.Size)
	}
	return nil
}
