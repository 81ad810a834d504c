package actioncache

import (
	"bytes"
	"errors"
	"io"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

func treeDirectoryNames(t *testing.T, b []byte) ([]string, error) {
	t.Helper()
	var names []string
	err := forEachTreeDirectory(bytes.NewReader(b), func(d *repb.Directory) error {
		names = append(names, d.GetFiles()[0].GetName())
		return nil
	})
	return names, err
}

func dirWithFile(name string) *repb.Directory {
	return &repb.Directory{Files: []*repb.FileNode{{Name: name, Digest: blobDigest(name).Proto()}}}
}

func TestTreeReaderVisitsRootAndChildren(t *testing.T) {
	tree := &repb.Tree{Root: dirWithFile("root"), Children: []*repb.Directory{dirWithFile("a"), dirWithFile("b")}}
	b := marshal(t, tree)
	// An unknown field of each wire type is skipped, as proto parsing would.
	b = protowire.AppendTag(b, 7, protowire.VarintType)
	b = protowire.AppendVarint(b, 300)
	b = protowire.AppendTag(b, 8, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, 1)
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte("ignored"))
	b = protowire.AppendTag(b, 10, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, 1)
	names, err := treeDirectoryNames(t, b)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(names), 3; got != want || names[0] != "root" || names[1] != "a" || names[2] != "b" {
		t.Errorf("visited %v, want [root a b]", names)
	}
}

func TestTreeReaderRejectsMalformedTrees(t *testing.T) {
	good := marshal(t, &repb.Tree{Root: dirWithFile("root")})
	badDir := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte{0xff, 0xff})
	group := protowire.AppendTag(nil, 1, protowire.StartGroupType)
	huge := protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.BytesType), maxDirectoryRecordBytes+1)
	for name, b := range map[string][]byte{
		"truncated record":  good[:len(good)-1],
		"truncated tag":     {0x80},
		"bad directory":     badDir,
		"group wire type":   group,
		"oversized record":  huge,
		"field number zero": {0x02, 0x00},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := treeDirectoryNames(t, b); !errors.Is(err, errMalformedTree) {
				t.Errorf("error = %v, want errMalformedTree", err)
			}
		})
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestTreeReaderPassesReaderErrorsThrough(t *testing.T) {
	boom := errors.New("disk on fire")
	good := marshal(t, &repb.Tree{Root: dirWithFile("root")})
	r := io.MultiReader(bytes.NewReader(good[:3]), failingReader{boom})
	err := forEachTreeDirectory(r, func(*repb.Directory) error { return nil })
	if !errors.Is(err, boom) || errors.Is(err, errMalformedTree) {
		t.Errorf("error = %v, want the reader's error and not errMalformedTree", err)
	}
}

func TestTreeReaderMatchesProtoParsing(t *testing.T) {
	var children []*repb.Directory
	for _, n := range []string{"x", "y", "z"} {
		children = append(children, dirWithFile(n))
	}
	tree := &repb.Tree{Root: dirWithFile("r"), Children: children}
	var got []*repb.Directory
	if err := forEachTreeDirectory(bytes.NewReader(marshal(t, tree)), func(d *repb.Directory) error {
		got = append(got, d)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := append([]*repb.Directory{tree.Root}, tree.Children...)
	if len(got) != len(want) {
		t.Fatalf("got %d directories, want %d", len(got), len(want))
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Errorf("directory %d = %v, want %v", i, got[i], want[i])
		}
	}
}
