package agent

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/kilnbuild/kiln/worker/microvm/guestproto"
)

// Paths inside the guest.
const (
	// ControlPort is the serial port the host talks on; the kernel console
	// is on ttyS0 so that its messages never mix into the frames.
	ControlPort = "/dev/ttyS1"
	// ModuleList names, one per line and in load order, the kernel modules
	// the image builder put into the initramfs.
	ModuleList = "/modules/order"
	// actionRoot is where the action's root is assembled; the agent
	// chroots into it once it is ready, so that paths, symlinks and PATH
	// lookups resolve as the action sees them.
	actionRoot = "/newroot"
)

// conn is the control channel; frames from several goroutines are
// serialized here.
type conn struct {
	mu sync.Mutex
	rw io.ReadWriter
}

func (c *conn) send(k guestproto.Kind, payload []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return guestproto.WriteFrame(c.rw, k, payload)
}

func (c *conn) sendJSON(k guestproto.Kind, v any) error {
	return c.send(k, guestproto.Encode(v))
}

// expect reads the next frame and decodes it into v, which must be of kind
// want.
func (c *conn) expect(want guestproto.Kind, v any) error {
	k, payload, err := guestproto.ReadFrame(c.rw)
	if err != nil {
		return fmt.Errorf("reading a %c frame: %w", want, err)
	}
	if k != want {
		return fmt.Errorf("got a %c frame, want %c", k, want)
	}
	return guestproto.Decode(payload, v)
}

// Main is the whole life of the guest. It never returns: when it is done
// or fails it powers the guest off.
func Main() {
	err := run()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kiln-guest-agent: %v\n", err)
	}
	unix.Sync()
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	// Reboot only returns on failure; PID 1 must not exit.
	select {}
}

func run() error {
	if err := mountEarly(); err != nil {
		return err
	}
	if err := loadModules(ModuleList); err != nil {
		return err
	}
	port, err := openControlPort(ControlPort)
	if err != nil {
		return err
	}
	c := &conn{rw: port}
	err = serve(c)
	if err != nil {
		_ = c.sendJSON(guestproto.KindFatal, guestproto.Fatal{Message: err.Error()})
	}
	return err
}

// serve is the protocol: booted → setup → set-up → run → done.
func serve(c *conn) error {
	if err := c.sendJSON(guestproto.KindReady, guestproto.Ready{Stage: guestproto.StageBooted}); err != nil {
		return err
	}
	var setup guestproto.Setup
	if err := c.expect(guestproto.KindSetup, &setup); err != nil {
		return err
	}
	if err := prepareRoot(&setup); err != nil {
		return fmt.Errorf("preparing the action's root: %w", err)
	}
	if err := c.sendJSON(guestproto.KindReady, guestproto.Ready{Stage: guestproto.StageSetUp}); err != nil {
		return err
	}
	// A snapshot restored guest wakes up here, waiting for its action.
	var r guestproto.Run
	if err := c.expect(guestproto.KindRun, &r); err != nil {
		return err
	}
	done := runAction(c, &r)
	if err := c.sendJSON(guestproto.KindDone, done); err != nil {
		return err
	}
	return nil
}

// errNoDevice is wrapped when a device the host named never shows up.
var errNoDevice = errors.New("no such device")
