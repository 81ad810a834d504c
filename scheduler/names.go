package scheduler

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// Resource names the scheduler hands out. Both carry the instance name in
// front, so that they read like the other REAPI names of that instance.
const (
	operationsSegment = "operations"
	logsSegment       = "kiln-logs"
)

// newID returns 128 random bits in hex: unguessable, so that an operation
// name or lease ID is also a capability.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails.
	return hex.EncodeToString(b[:])
}

func withInstance(instance, rest string) string {
	if instance == "" {
		return rest
	}
	return instance + "/" + rest
}

// operationName is "{instance}/operations/{id}".
func operationName(instance, id string) string {
	return withInstance(instance, operationsSegment+"/"+id)
}

// operationIDFromName returns the ID at the end of an operation name. The
// caller checks that the stored operation has exactly this name.
func operationIDFromName(name string) (string, bool) {
	rest, id, ok := cutLast(name)
	if !ok || id == "" {
		return "", false
	}
	if _, seg, _ := cutLast(rest); seg != operationsSegment {
		return "", false
	}
	return id, true
}

// streamName is "{instance}/kiln-logs/{id}/{stdout|stderr}", readable with
// ByteStream Read while the action runs (checklist item 20).
func streamName(instance, id string, s OutputStream) string {
	return withInstance(instance, logsSegment+"/"+id+"/"+s.String())
}

// parseStreamName returns the operation ID and stream of a stream name, and
// false for every name that is not one.
func parseStreamName(name string) (string, OutputStream, bool) {
	rest, which, ok := cutLast(name)
	if !ok {
		return "", 0, false
	}
	var s OutputStream
	switch which {
	case "stdout":
		s = Stdout
	case "stderr":
		s = Stderr
	default:
		return "", 0, false
	}
	rest, id, ok := cutLast(rest)
	if !ok || id == "" {
		return "", 0, false
	}
	if _, seg, _ := cutLast(rest); seg != logsSegment {
		return "", 0, false
	}
	return id, s, true
}

// cutLast splits name at its last '/'. Without one, before is empty and
// last is name.
func cutLast(name string) (before, last string, ok bool) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return "", name, name != ""
	}
	return name[:i], name[i+1:], true
}
