package main_test

import (
	"math/rand/v2"

	"github.com/kilnbuild/kiln/internal/digest"
)

// Helpers shared by the integration tests of this folder.

// randomBytes returns n bytes from rng.
func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := rng.Uint64()
		for j := i; j < min(i+8, n); j++ {
			b[j] = byte(v)
			v >>= 8
		}
	}
	return b
}

// blobClass asks for count blobs with sizes in [min, max].
type blobClass struct {
	count    int
	min, max int
}

// randomBlobs returns the blobs the classes ask for, in random order.
func randomBlobs(rng *rand.Rand, classes []blobClass) [][]byte {
	var blobs [][]byte
	for _, c := range classes {
		for range c.count {
			blobs = append(blobs, randomBytes(rng, c.min+rng.IntN(c.max-c.min+1)))
		}
	}
	rng.Shuffle(len(blobs), func(i, j int) { blobs[i], blobs[j] = blobs[j], blobs[i] })
	return blobs
}

func keys[V any](m map[digest.Digest]V) []digest.Digest {
	ds := make([]digest.Digest, 0, len(m))
	for d := range m {
		ds = append(ds, d)
	}
	return ds
}
