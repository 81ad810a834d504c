package microvm

import (
	"bytes"
	"strconv"
	"testing"
)

// cpioEntries parses a newc archive into name -> (mode, data).
func cpioEntries(t *testing.T, b []byte) map[string][2]string {
	t.Helper()
	out := map[string][2]string{}
	for off := 0; ; {
		if string(b[off:off+6]) != "070701" {
			t.Fatalf("bad magic at %d: %q", off, b[off:off+6])
		}
		field := func(i int) int {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			return int(v)
		}
		mode, size, namesize := field(1), field(6), field(11)
		name := string(b[off+110 : off+110+namesize-1])
		off += 110 + namesize
		off = (off + 3) &^ 3
		data := string(b[off : off+size])
		off = (off + size + 3) &^ 3
		if name == "TRAILER!!!" {
			return out
		}
		out[name] = [2]string{strconv.FormatInt(int64(mode), 8), data}
	}
}

func TestInitramfsIsReproducibleNewc(t *testing.T) {
	files := []initramfsFile{
		{Name: "modules/virtio.ko", Mode: 0o644, Data: []byte("module")},
		{Name: "init", Mode: 0o755, Data: []byte("agent binary")},
	}
	var a, b bytes.Buffer
	if err := writeInitramfs(&a, files); err != nil {
		t.Fatal(err)
	}
	// The same files in another order give the same bytes.
	if err := writeInitramfs(&b, []initramfsFile{files[1], files[0]}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the archive depends on the order of the files")
	}
	got := cpioEntries(t, a.Bytes())
	want := map[string][2]string{
		"init":              {"100755", "agent binary"},
		"modules":           {"40755", ""},
		"modules/virtio.ko": {"100644", "module"},
	}
	if len(got) != len(want) {
		t.Errorf("entries %v, want %v", got, want)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s = %v, want %v", name, got[name], w)
		}
	}
}
