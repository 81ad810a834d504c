package loadgen

import (
	"bytes"
	"testing"

	"github.com/kilnbuild/kiln/internal/digest"
)

func TestBlobGeneratorDigestsMatchContent(t *testing.T) {
	for _, fn := range digest.Functions {
		g, err := NewBlobGenerator(fn, 3<<20)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int64{16, 17, 1000, 1 << 20, 3 << 20} {
			b, err := g.Next(size)
			if err != nil {
				t.Fatalf("%s: Next(%d): %v", fn, size, err)
			}
			data := b.Bytes()
			if int64(len(data)) != size {
				t.Fatalf("%s: blob of %d bytes has %d", fn, size, len(data))
			}
			if want := digest.OfBytes(fn, data); b.Digest != want {
				t.Errorf("%s size %d: digest %v, content hashes to %v", fn, size, b.Digest, want)
			}
		}
	}
}

func TestBlobGeneratorBlobsAreUnique(t *testing.T) {
	g1, _ := NewBlobGenerator(digest.Functions[0], 1024)
	g2, _ := NewBlobGenerator(digest.Functions[0], 1024)
	seen := map[string]bool{}
	for range 100 {
		for _, g := range []*BlobGenerator{g1, g2} {
			b, err := g.Next(1024)
			if err != nil {
				t.Fatal(err)
			}
			if seen[b.Digest.Hash] {
				t.Fatalf("blob %s generated twice", b.Digest)
			}
			seen[b.Digest.Hash] = true
		}
	}
}

func TestBlobGeneratorRejectsSizesOutOfRange(t *testing.T) {
	g, _ := NewBlobGenerator(digest.Functions[0], 1024)
	for _, size := range []int64{0, 15, 1025} {
		if _, err := g.Next(size); err == nil {
			t.Errorf("Next(%d) succeeded, want an error", size)
		}
	}
}

func TestChunksReassembleTheBlob(t *testing.T) {
	g, _ := NewBlobGenerator(digest.Functions[0], 5000)
	for _, size := range []int64{16, 100, 4096, 5000} {
		b, _ := g.Next(size)
		for _, chunk := range []int{1, 7, 16, 1024, 4096, 8192} {
			var got bytes.Buffer
			err := b.Chunks(chunk, make([]byte, 0, chunk+tagSize), func(p []byte) error {
				if len(p) == 0 || len(p) > chunk {
					t.Fatalf("size %d chunk %d: piece of %d bytes", size, chunk, len(p))
				}
				got.Write(p)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), b.Bytes()) {
				t.Errorf("size %d chunk %d: chunks do not reassemble the blob", size, chunk)
			}
			if !b.HasTag(got.Bytes()) {
				t.Errorf("size %d: blob does not end with its tag", size)
			}
		}
	}
}

func TestKeepTailKeepsTheLastBytes(t *testing.T) {
	data := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	for _, step := range []int{1, 3, 5, 16, 17, 36} {
		var tail []byte
		for i := 0; i < len(data); i += step {
			tail = keepTail(tail, data[i:min(i+step, len(data))])
		}
		if want := data[len(data)-tagSize:]; !bytes.Equal(tail, want) {
			t.Errorf("step %d: tail %q, want %q", step, tail, want)
		}
	}
}

// BenchmarkBlobGenerator measures what making one blob costs, which the
// scenarios exclude from their numbers: it must stay far below the cost of
// moving the blob.
func BenchmarkBlobGenerator(b *testing.B) {
	for _, size := range []int64{4 << 10, 64 << 20} {
		b.Run(FormatSize(size), func(b *testing.B) {
			g, _ := NewBlobGenerator(digest.Functions[0], size)
			if err := g.Prepare(size); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := g.Next(size); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
