package cas_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

var benchSizes = []struct {
	name string
	size int
}{
	{"4KiB", 4 << 10},
	{"64MiB", 64 << 20},
}

// BenchmarkDiskPut stores a new blob per iteration, fsync included. The
// digests are computed before the timer starts, so the time is the store's:
// hashing for verification, the write, the fsync and the rename.
func BenchmarkDiskPut(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			// The cap keeps the disk use of the 64 MiB case bounded.
			s := openDisk(b, b.TempDir(), cas.DiskStoreOptions{MaxSizeBytes: 512 << 20})
			content := bytes.Repeat([]byte("kiln disk put benchmark "), bs.size/24+1)[:bs.size]
			ds := make([]digest.Digest, b.N)
			for i := range ds {
				binary.LittleEndian.PutUint64(content, uint64(i))
				ds[i] = digest.OfBytes(repb.DigestFunction_SHA256, content)
			}
			b.SetBytes(int64(bs.size))
			b.ResetTimer()
			for i := range b.N {
				binary.LittleEndian.PutUint64(content, uint64(i))
				if err := s.Put(context.Background(), ds[i], bytes.NewReader(content)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDiskGet reads one blob whole per iteration, in the 1 MiB chunks
// a ByteStream Read would use.
func BenchmarkDiskGet(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			s := openDisk(b, b.TempDir(), cas.DiskStoreOptions{})
			content, d := blobOf(1, bs.size)
			putBytes(b, s, d, content)
			buf := make([]byte, 1<<20)
			sink := struct{ io.Writer }{io.Discard} // hides ReadFrom: copy through buf
			b.SetBytes(int64(bs.size))
			b.ResetTimer()
			for range b.N {
				rc, err := s.Get(context.Background(), d, 0, 0)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.CopyBuffer(sink, rc, buf); err != nil || n != int64(bs.size) {
					b.Fatalf("read %d bytes, %v", n, err)
				}
				rc.Close()
			}
		})
	}
}

// BenchmarkOpen opens a store of 100k blobs: the start-up cost of a
// restart, which reads directories and file metadata, never contents.
func BenchmarkOpen(b *testing.B) {
	const blobs = 100_000
	dir := b.TempDir()
	fanOuts := map[string]bool{}
	for i := range blobs {
		sum := sha256.Sum256(fmt.Appendf(nil, "%d", i))
		hash := hex.EncodeToString(sum[:])
		fanOut := filepath.Join(dir, "blobs", "sha256", hash[:2])
		if !fanOuts[fanOut] {
			if err := os.MkdirAll(fanOut, 0o750); err != nil {
				b.Fatal(err)
			}
			fanOuts[fanOut] = true
		}
		// Contents are never read at open; only the size must match the name.
		if err := os.WriteFile(filepath.Join(fanOut, hash+"-1"), []byte{'x'}, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		s, err := newDisk(dir, cas.DiskStoreOptions{MaxSizeBytes: 1 << 40})
		if err != nil {
			b.Fatal(err)
		}
		if s.SizeBytes() != blobs {
			b.Fatalf("opened %d bytes of blobs, want %d", s.SizeBytes(), blobs)
		}
		s.Close()
	}
}
