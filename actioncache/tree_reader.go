package actioncache

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// errMalformedTree is wrapped by errors about Tree blobs that do not parse.
var errMalformedTree = errors.New("malformed Tree")

// maxDirectoryRecordBytes caps one Directory inside a Tree. A Tree as a
// whole may be hundreds of MiB (think node_modules) and is only ever
// streamed; a single Directory this large (some 500k entries) is not a real
// output, and the cap keeps one record from taking unbounded memory.
const maxDirectoryRecordBytes = 64 << 20

// forEachTreeDirectory streams the wire encoding of a Tree from r and calls
// fn with the root and with every child Directory, in encoding order, without
// ever holding the whole Tree in memory. Fields other than root and children
// are skipped, as proto3 parsing would. Errors of r itself are returned as
// they are; everything else that stops the parse wraps errMalformedTree.
func forEachTreeDirectory(r io.Reader, fn func(*repb.Directory) error) error {
	src := &errRecorder{r: r}
	err := parseTree(bufio.NewReader(src), fn)
	if err != nil && src.err != nil && src.err != io.EOF {
		return src.err
	}
	return err
}

func parseTree(br *bufio.Reader, fn func(*repb.Directory) error) error {
	var buf []byte
	for {
		tag, err := binary.ReadUvarint(br)
		if err == io.EOF {
			return nil // a record boundary: the Tree is complete
		}
		if err != nil {
			return malformed(err)
		}
		num, typ := protowire.DecodeTag(tag)
		if num <= 0 {
			return fmt.Errorf("%w: invalid field number", errMalformedTree)
		}
		switch typ {
		case protowire.VarintType:
			_, err = binary.ReadUvarint(br)
		case protowire.Fixed32Type:
			_, err = br.Discard(4)
		case protowire.Fixed64Type:
			_, err = br.Discard(8)
		case protowire.BytesType:
			var n uint64
			if n, err = binary.ReadUvarint(br); err != nil {
				break
			}
			if num != 1 && num != 2 { // neither root nor children
				err = discard(br, n)
				break
			}
			if n > maxDirectoryRecordBytes {
				return fmt.Errorf("%w: a Directory of %d bytes exceeds the limit of %d", errMalformedTree, n, maxDirectoryRecordBytes)
			}
			if uint64(cap(buf)) < n {
				buf = make([]byte, n)
			}
			buf = buf[:n]
			if _, err = io.ReadFull(br, buf); err != nil {
				break
			}
			dir := &repb.Directory{}
			if err := proto.Unmarshal(buf, dir); err != nil {
				return malformed(err)
			}
			if err := fn(dir); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: unsupported wire type %d", errMalformedTree, typ)
		}
		if err != nil {
			return malformed(err)
		}
	}
}

func discard(br *bufio.Reader, n uint64) error {
	m, err := io.CopyN(io.Discard, br, int64(min(n, 1<<62)))
	if err == nil && uint64(m) != n {
		err = io.ErrUnexpectedEOF
	}
	return err
}

func malformed(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: %w", errMalformedTree, err)
}

// errRecorder remembers the error of the reader it wraps, so a failing
// store is not mistaken for a malformed blob.
type errRecorder struct {
	r   io.Reader
	err error
}

func (e *errRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		e.err = err
	}
	return n, err
}
