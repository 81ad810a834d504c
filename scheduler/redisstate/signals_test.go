package redisstate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/kilnbuild/kiln/scheduler"
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestOpSignalsSkipVersionsAlreadyKnown(t *testing.T) {
	s := newOpSignals()
	before := s.wait("a")
	s.saw("a", 3, false) // the State's own write returned version 3
	after := s.wait("a")
	s.message("3:a") // ... and its message arrives late
	if !closed(before) {
		t.Errorf("a waiter from before version 3 was not woken by it")
	}
	if closed(after) {
		t.Errorf("a waiter that registered knowing version 3 was woken by it")
	}
	s.message("4:a")
	if !closed(after) {
		t.Errorf("version 4 did not wake a waiter that knew 3")
	}
	other := s.wait("b")
	s.message("9:a")
	if closed(other) {
		t.Errorf("a change of a woke the waiter of b")
	}
}

func TestOpSignalsDeletionAndReconnectWakeEveryone(t *testing.T) {
	s := newOpSignals()
	s.saw("a", 5, false)
	a := s.wait("a")
	s.message("d:a")
	if !closed(a) {
		t.Errorf("deletion did not wake the waiter")
	}
	s.saw("b", 5, false)
	b := s.wait("b")
	s.fireAll()
	if !closed(b) {
		t.Errorf("fireAll did not wake the waiter")
	}
	// Redis may have lost its data: versions start over and count.
	b = s.wait("b")
	s.message("1:b")
	if !closed(b) {
		t.Errorf("after fireAll, version 1 did not wake a new waiter")
	}
}

func TestOpSignalsForgetCompleted(t *testing.T) {
	s := newOpSignals()
	s.saw("a", 2, false)
	s.saw("a", 3, true)
	if _, ok := s.known["a"]; ok {
		t.Errorf("a completed operation's version is still remembered")
	}
	s.saw("a", 1, false) // an older version never lowers what is known
	s.saw("a", 2, false)
	s.saw("a", 1, false)
	if s.known["a"] != 2 {
		t.Errorf("known version = %d, want 2", s.known["a"])
	}
}

func TestUnavailableClassification(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{io.EOF, true},
		{redis.ErrClosed, true},
		{replyErr("LOADING Redis is loading the dataset in memory"), true},
		{replyErr("READONLY You can't write against a read only replica."), true},
		{replyErr("ERR user_script:1: Script attempted to access nonexistent global variable"), false},
		{replyErr("WRONGTYPE Operation against a key holding the wrong kind of value"), false},
		{context.Canceled, false},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), false},
		{redis.Nil, false},
	} {
		err := wrapErr("doing", tc.err)
		if got := errors.Is(err, scheduler.ErrUnavailable); got != tc.want {
			t.Errorf("wrapErr(%v) unavailable = %v, want %v", tc.err, got, tc.want)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("wrapErr(%v) lost the cause", tc.err)
		}
	}
}

// replyErr is an error reply as go-redis returns it.
type replyErr string

func (e replyErr) Error() string { return string(e) }
func (replyErr) RedisError()     {}
