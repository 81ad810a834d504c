package cas

import (
	"errors"
	"fmt"
	"io"
	"sync"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/klauspost/compress/zstd"

	"github.com/kilnbuild/kiln/internal/digest"
)

// SupportedCompressors lists the compressors the CAS and ByteStream services
// accept besides IDENTITY, for CacheCapabilities.supported_compressors and
// supported_batch_update_compressors.
func SupportedCompressors() []repb.Compressor_Value {
	return []repb.Compressor_Value{repb.Compressor_ZSTD}
}

func compressorSupported(c repb.Compressor_Value) bool {
	return c == repb.Compressor_IDENTITY || c == repb.Compressor_ZSTD
}

// errBadCompressedData is wrapped by errors about compressed bytes a client
// sent that do not decompress: that is the client's mistake.
var errBadCompressedData = errors.New("compressed data is corrupt")

// maxZstdWindow bounds the history a client's zstd stream may ask the
// decoder to keep, and so the memory of one decompression. 64 MiB covers
// every level of the reference implementation, --long=26 included.
const maxZstdWindow = 64 << 20

// zstdCodec pools zstd encoders and decoders: creating one allocates its
// tables and buffers, resetting one is cheap. Both run synchronously
// (concurrency 1), so a pooled one holds no goroutines.
type zstdCodec struct {
	encoders sync.Pool
	decoders sync.Pool
}

// newDecompressor returns a reader of the decompressed bytes of r. Closing
// it returns the decoder to the pool; it does not close r.
func (c *zstdCodec) newDecompressor(r io.Reader) (io.ReadCloser, error) {
	dec, _ := c.decoders.Get().(*zstd.Decoder)
	if dec == nil {
		var err error
		dec, err = zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(maxZstdWindow),
			zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return nil, fmt.Errorf("creating zstd decoder: %w", err)
		}
	}
	if err := dec.Reset(r); err != nil {
		return nil, fmt.Errorf("resetting zstd decoder: %w", err)
	}
	return &decompressor{dec: dec, pool: &c.decoders}, nil
}

type decompressor struct {
	dec  *zstd.Decoder
	pool *sync.Pool
}

func (d *decompressor) Read(p []byte) (int, error) {
	if d.dec == nil {
		return 0, errors.New("read from closed decompressor")
	}
	n, err := d.dec.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: zstd: %v", errBadCompressedData, err)
	}
	return n, err
}

func (d *decompressor) Close() error {
	if d.dec != nil {
		d.dec.Reset(nil) // drops the reference to the source
		d.pool.Put(d.dec)
		d.dec = nil
	}
	return nil
}

// encoder returns a streaming encoder writing to w; release it with
// releaseEncoder after Close.
func (c *zstdCodec) encoder(w io.Writer) *zstd.Encoder {
	enc, _ := c.encoders.Get().(*zstd.Encoder)
	if enc == nil {
		// Errors only come from invalid options, which these are not.
		enc, _ = zstd.NewWriter(nil,
			zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			// A zero-length blob still gets a frame, so that every
			// client's decoder sees a valid zstd stream.
			zstd.WithZeroFrames(true))
	}
	enc.Reset(w)
	return enc
}

func (c *zstdCodec) releaseEncoder(enc *zstd.Encoder) {
	enc.Reset(nil)
	c.encoders.Put(enc)
}

// compress returns the zstd form of b.
func (c *zstdCodec) compress(b []byte) []byte {
	enc := c.encoder(nil)
	defer c.releaseEncoder(enc)
	return enc.EncodeAll(b, make([]byte, 0, enc.MaxEncodedSize(len(b))))
}

// sizeGuard fails a read as soon as r yields more bytes than want.Size, so
// a small compressed stream cannot make a store swallow an endless one.
type sizeGuard struct {
	r    io.Reader
	want digest.Digest
	n    int64
}

func (g *sizeGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.n += int64(n)
	if g.n > g.want.Size {
		return n, fmt.Errorf("%w: decompressed data is longer than the %d bytes of %s", digest.ErrMismatch, g.want.Size, g.want)
	}
	return n, err
}
