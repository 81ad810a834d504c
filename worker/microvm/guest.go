package microvm

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/kilnbuild/kiln/worker/microvm/guestproto"
)

// errGuest is wrapped by errors of a guest that broke the protocol, died or
// never got ready: a fault of the machine or the worker, not the action's.
var errGuest = errors.New("microVM guest failed")

// agentConn speaks guestproto with the agent of one machine.
type agentConn struct {
	m Machine
}

// readFrame reads one frame; a Fatal from the agent becomes an error.
func (a agentConn) readFrame() (guestproto.Kind, []byte, error) {
	k, payload, err := guestproto.ReadFrame(a.m.Control())
	if err != nil {
		return 0, nil, fmt.Errorf("%w: reading from the agent: %w\nguest console:\n%s", errGuest, err, a.m.ConsoleTail())
	}
	if k == guestproto.KindFatal {
		var f guestproto.Fatal
		_ = guestproto.Decode(payload, &f)
		return 0, nil, fmt.Errorf("%w: the agent gave up: %s", errGuest, f.Message)
	}
	return k, payload, nil
}

// waitReady waits until the agent reports stage, or ctx ends (which kills
// the machine).
func (a agentConn) waitReady(ctx context.Context, stage string) error {
	stop := context.AfterFunc(ctx, a.m.Kill)
	defer stop()
	k, payload, err := a.readFrame()
	if ctx.Err() != nil {
		return fmt.Errorf("%w: the agent did not report %q in time\nguest console:\n%s", errGuest, stage, a.m.ConsoleTail())
	}
	if err != nil {
		return err
	}
	var r guestproto.Ready
	if k != guestproto.KindReady {
		return fmt.Errorf("%w: the agent sent a %q frame, want ready", errGuest, k)
	}
	if err := guestproto.Decode(payload, &r); err != nil {
		return fmt.Errorf("%w: %w", errGuest, err)
	}
	if r.Stage != stage {
		return fmt.Errorf("%w: the agent reports stage %q, want %q", errGuest, r.Stage, stage)
	}
	return nil
}

func (a agentConn) send(k guestproto.Kind, v any) error {
	if err := guestproto.WriteFrame(a.m.Control(), k, guestproto.Encode(v)); err != nil {
		return fmt.Errorf("%w: writing to the agent: %w", errGuest, err)
	}
	return nil
}

// boot brings a freshly started machine to StageSetUp.
func (a agentConn) boot(ctx context.Context, setup *guestproto.Setup) error {
	if err := a.waitReady(ctx, guestproto.StageBooted); err != nil {
		return err
	}
	if err := a.send(guestproto.KindSetup, setup); err != nil {
		return err
	}
	return a.waitReady(ctx, guestproto.StageSetUp)
}

// run sends the action and copies its output until the agent is done. It
// returns early with an error only when the machine fails or is killed.
func (a agentConn) run(r *guestproto.Run, stdout, stderr io.Writer) (*guestproto.Done, error) {
	if err := a.send(guestproto.KindRun, r); err != nil {
		return nil, err
	}
	// A writer that fails must not stop the action: its output is then
	// dropped, as the process runner does.
	var outErr, errErr error
	for {
		k, payload, err := a.readFrame()
		if err != nil {
			return nil, err
		}
		switch k {
		case guestproto.KindStdout:
			if outErr == nil {
				_, outErr = stdout.Write(payload)
			}
		case guestproto.KindStderr:
			if errErr == nil {
				_, errErr = stderr.Write(payload)
			}
		case guestproto.KindDone:
			var d guestproto.Done
			if err := guestproto.Decode(payload, &d); err != nil {
				return nil, fmt.Errorf("%w: %w", errGuest, err)
			}
			return &d, nil
		default:
			return nil, fmt.Errorf("%w: unexpected %q frame while the action runs", errGuest, k)
		}
	}
}
