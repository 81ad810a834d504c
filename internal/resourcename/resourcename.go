// Package resourcename owns the ByteStream resource names of REAPI blobs:
// parsing the names clients send to Read and Write, and formatting them.
//
// The grammar (remote_execution.proto, "ByteStream API" comment):
//
//	read:  {instance}/blobs/{df/}{hash}/{size}
//	       {instance}/compressed-blobs/{compressor}/{df/}{hash}/{size}
//	write: {instance}/uploads/{uuid}/blobs/{df/}{hash}/{size}{/metadata}
//	       {instance}/uploads/{uuid}/compressed-blobs/{compressor}/{df/}{hash}/{size}{/metadata}
//
// The instance may be empty (then the leading slash is omitted) or span
// several segments, none of which may be a reserved keyword. That rule is
// what makes parsing unambiguous: the first reserved keyword ends the
// instance. This package knows names only; which compressors and digest
// functions a server accepts is for the caller to decide.
package resourcename

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/internal/digest"
)

// ErrInvalid is wrapped by every error about a malformed resource name.
var ErrInvalid = errors.New("invalid resource name")

// Compressor is a REAPI compressor.
type Compressor = repb.Compressor_Value

const (
	keywordBlobs           = "blobs"
	keywordCompressedBlobs = "compressed-blobs"
	keywordUploads         = "uploads"
)

// reserved lists the segments an instance name may not contain.
var reserved = map[string]bool{
	keywordBlobs: true, keywordUploads: true, "actions": true, "actionResults": true,
	"operations": true, "capabilities": true, keywordCompressedBlobs: true,
}

// Blob names a blob to read: {instance}/blobs/... or
// {instance}/compressed-blobs/{compressor}/...
type Blob struct {
	Instance string
	Digest   digest.Digest
	// Compressor is IDENTITY for plain "blobs/" names.
	Compressor Compressor
}

// Upload names one upload of a blob: {instance}/uploads/{uuid}/...
type Upload struct {
	Blob
	UUID string
	// Metadata is the optional implementation-specific tail, without its
	// leading slash; servers may ignore it.
	Metadata string
}

// ParseRead parses the resource name of a ByteStream Read.
func ParseRead(name string) (Blob, error) {
	segs := strings.Split(name, "/")
	i, err := instanceEnd(name, segs)
	if err != nil {
		return Blob{}, err
	}
	b, rest, err := parseBlob(name, segs[:i], segs[i:])
	if err != nil {
		return Blob{}, err
	}
	if len(rest) != 0 {
		return Blob{}, invalid(name, "unexpected %q after the size", strings.Join(rest, "/"))
	}
	return b, nil
}

// ParseWrite parses the resource name of a ByteStream Write or
// QueryWriteStatus.
func ParseWrite(name string) (Upload, error) {
	segs := strings.Split(name, "/")
	i, err := instanceEnd(name, segs)
	if err != nil {
		return Upload{}, err
	}
	if segs[i] != keywordUploads {
		return Upload{}, invalid(name, "expected %q where %q is", keywordUploads, segs[i])
	}
	if i+1 >= len(segs) || segs[i+1] == "" {
		return Upload{}, invalid(name, "missing the upload id after %q", keywordUploads)
	}
	b, rest, err := parseBlob(name, segs[:i], segs[i+2:])
	if err != nil {
		return Upload{}, err
	}
	return Upload{Blob: b, UUID: segs[i+1], Metadata: strings.Join(rest, "/")}, nil
}

// instanceEnd returns the index of the first reserved segment, which ends
// the instance name, after checking the instance's segments.
func instanceEnd(name string, segs []string) (int, error) {
	if name == "" {
		return 0, fmt.Errorf("%w: the resource name is empty", ErrInvalid)
	}
	for i, s := range segs {
		if reserved[s] {
			return i, nil
		}
		if s == "" {
			return 0, invalid(name, "empty path segment in the instance name")
		}
	}
	return 0, invalid(name, "no %q, %q or %q segment", keywordBlobs, keywordCompressedBlobs, keywordUploads)
}

// parseBlob parses "blobs/..." or "compressed-blobs/{c}/..." at the start of
// segs and returns the segments after the size.
func parseBlob(name string, instance, segs []string) (Blob, []string, error) {
	b := Blob{Instance: strings.Join(instance, "/"), Compressor: repb.Compressor_IDENTITY}
	if len(segs) == 0 {
		return Blob{}, nil, invalid(name, "missing %q", keywordBlobs)
	}
	switch segs[0] {
	case keywordBlobs:
		segs = segs[1:]
	case keywordCompressedBlobs:
		if len(segs) < 2 {
			return Blob{}, nil, invalid(name, "missing the compressor")
		}
		c, ok := repb.Compressor_Value_value[strings.ToUpper(segs[1])]
		if !ok || Compressor(c) == repb.Compressor_IDENTITY || segs[1] != strings.ToLower(segs[1]) {
			return Blob{}, nil, invalid(name, "unknown compressor %q", segs[1])
		}
		b.Compressor = Compressor(c)
		segs = segs[2:]
	default:
		return Blob{}, nil, invalid(name, "expected %q or %q where %q is", keywordBlobs, keywordCompressedBlobs, segs[0])
	}
	fn := repb.DigestFunction_UNKNOWN
	if len(segs) > 0 {
		// A function name can never be mistaken for a hash: every
		// function name has letters outside [0-9a-f].
		if f, ok := digest.ParseFunctionName(segs[0]); ok && segs[0] == digest.FunctionName(f) {
			fn = f
			segs = segs[1:]
		}
	}
	if len(segs) < 2 {
		return Blob{}, nil, invalid(name, "missing hash and size")
	}
	hash, sizeText := segs[0], segs[1]
	size, err := parseSize(sizeText)
	if err != nil {
		return Blob{}, nil, invalid(name, "size %q is not a non-negative decimal number", sizeText)
	}
	resolved, err := digest.Resolve(fn, hash)
	if err != nil {
		return Blob{}, nil, fmt.Errorf("%w %q: %w", ErrInvalid, name, err)
	}
	d, err := digest.New(resolved, hash, size)
	if err != nil {
		return Blob{}, nil, fmt.Errorf("%w %q: %w", ErrInvalid, name, err)
	}
	b.Digest = d
	return b, segs[2:], nil
}

// parseSize accepts plain decimal digits only: no sign, no spaces.
func parseSize(s string) (int64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New("not a decimal number")
	}
	return strconv.ParseInt(s, 10, 64)
}

func invalid(name, format string, args ...any) error {
	return fmt.Errorf("%w %q: %s", ErrInvalid, name, fmt.Sprintf(format, args...))
}

// String formats b as a Read resource name.
func (b Blob) String() string {
	var sb strings.Builder
	if b.Instance != "" {
		sb.WriteString(b.Instance)
		sb.WriteByte('/')
	}
	b.writeTail(&sb)
	return sb.String()
}

// String formats u as a Write resource name.
func (u Upload) String() string {
	var sb strings.Builder
	if u.Instance != "" {
		sb.WriteString(u.Instance)
		sb.WriteByte('/')
	}
	sb.WriteString(keywordUploads + "/")
	sb.WriteString(u.UUID)
	sb.WriteByte('/')
	u.writeTail(&sb)
	if u.Metadata != "" {
		sb.WriteByte('/')
		sb.WriteString(u.Metadata)
	}
	return sb.String()
}

// writeTail writes "blobs/{df/}{hash}/{size}" or its compressed form; the
// digest function appears only for functions that cannot be inferred.
func (b Blob) writeTail(sb *strings.Builder) {
	if b.Compressor == repb.Compressor_IDENTITY {
		sb.WriteString(keywordBlobs + "/")
	} else {
		sb.WriteString(keywordCompressedBlobs + "/")
		sb.WriteString(strings.ToLower(b.Compressor.String()))
		sb.WriteByte('/')
	}
	if !digest.IsLegacy(b.Digest.Function) {
		sb.WriteString(digest.FunctionName(b.Digest.Function))
		sb.WriteByte('/')
	}
	sb.WriteString(b.Digest.Hash)
	sb.WriteByte('/')
	sb.WriteString(strconv.FormatInt(b.Digest.Size, 10))
}
