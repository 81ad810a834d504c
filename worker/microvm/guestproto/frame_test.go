package guestproto

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestFramesRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	want := []struct {
		k Kind
		p string
	}{{KindStdout, "hello"}, {KindStderr, ""}, {KindDone, `{"exit_code":3}`}}
	for _, f := range want {
		if err := WriteFrame(&buf, f.k, []byte(f.p)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range want {
		k, p, err := ReadFrame(&buf)
		if err != nil || k != f.k || string(p) != f.p {
			t.Fatalf("ReadFrame = %q %q %v, want %q %q", k, p, err, f.k, f.p)
		}
	}
	if _, _, err := ReadFrame(&buf); err != io.EOF {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}

func TestReadFrameRejectsWhatIsNotAFrame(t *testing.T) {
	var big bytes.Buffer
	big.WriteString("KLN1D")
	big.Write([]byte{0xff, 0xff, 0xff, 0xff})
	for name, in := range map[string]string{
		"bad magic":        "XXXXD\x00\x00\x00\x00",
		"cut header":       "KLN1",
		"cut payload":      "KLN1O\x00\x00\x00\x05abc",
		"oversize payload": big.String(),
	} {
		_, _, err := ReadFrame(strings.NewReader(in))
		if !errors.Is(err, ErrBadFrame) {
			t.Errorf("%s: %v, want ErrBadFrame", name, err)
		}
	}
}

func TestWriteFrameRefusesOversizePayload(t *testing.T) {
	if err := WriteFrame(io.Discard, KindStdout, make([]byte, MaxPayload+1)); err == nil {
		t.Error("an oversize frame was written")
	}
}

func TestDecodeWrapsErrBadFrame(t *testing.T) {
	var d Done
	if err := Decode([]byte("{"), &d); !errors.Is(err, ErrBadFrame) {
		t.Errorf("Decode of broken JSON: %v, want ErrBadFrame", err)
	}
	if err := Decode(Encode(Done{ExitCode: 4, Removed: []string{"a"}}), &d); err != nil || d.ExitCode != 4 || d.Removed[0] != "a" {
		t.Errorf("round trip: %+v, %v", d, err)
	}
}
