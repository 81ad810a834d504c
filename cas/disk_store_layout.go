package cas

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kilnbuild/kiln/internal/digest"
)

// The on-disk layout of a DiskStore directory:
//
//	dir/LOCK                            held (flock) while a store has dir open
//	dir/tmp/                            uploads in progress and blobs being evicted
//	dir/blobs/<function>/<hh>/<hash>-<size>
//
// <function> is the lowercase digest function name ("sha256", "blake3"), so
// equal hash text under two functions is two files. <hh> is the first two hex
// characters of the hash: 256 fan-out directories keep every directory small.
// The size is part of the name so that start-up needs no file contents and a
// digest with the right hash but another size is simply another key.
const (
	diskLockFileName = "LOCK"
	diskTmpDirName   = "tmp"
	diskBlobsDirName = "blobs"
)

// blobFileName is the final file name of d inside its fan-out directory.
func blobFileName(d digest.Digest) string {
	return d.Hash + "-" + strconv.FormatInt(d.Size, 10)
}

// blobPath is where d lives under the store directory dir.
func blobPath(dir string, d digest.Digest) string {
	return filepath.Join(dir, diskBlobsDirName, digest.FunctionName(d.Function), d.Hash[:2], blobFileName(d))
}

// parseFunctionDir maps the name of a directory under dir/blobs to its
// digest function.
func parseFunctionDir(name string) (digest.Function, error) {
	fn, ok := digest.ParseFunctionName(name)
	if !ok || !digest.Supported(fn) || digest.FunctionName(fn) != name {
		return 0, fmt.Errorf("%q is not a supported digest function", name)
	}
	return fn, nil
}

// parseBlobFileName is the inverse of blobPath for one file found while
// walking dir/blobs/<function>/<fanOutDir>.
func parseBlobFileName(fn digest.Function, fanOutDir, name string) (digest.Digest, error) {
	hash, sizeText, ok := strings.Cut(name, "-")
	if !ok {
		return digest.Digest{}, fmt.Errorf("name %q is not <hash>-<size>", name)
	}
	size, err := strconv.ParseInt(sizeText, 10, 64)
	if err != nil || strconv.FormatInt(size, 10) != sizeText {
		return digest.Digest{}, fmt.Errorf("name %q has no canonical decimal size", name)
	}
	d, err := digest.New(fn, hash, size)
	if err != nil {
		return digest.Digest{}, err
	}
	if d.Hash[:2] != fanOutDir {
		return digest.Digest{}, fmt.Errorf("hash %s does not belong in directory %q", d.Hash, fanOutDir)
	}
	return d, nil
}

// checkPathSafe re-validates d before it becomes part of a path. Digests
// reaching a store were validated already, but Digest is a plain struct and
// a hash like "../../x" must never name a file outside the store.
func checkPathSafe(d digest.Digest) error {
	_, err := digest.New(d.Function, d.Hash, d.Size)
	return err
}
