package microvm

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// qmp is a minimal client of QEMU's machine protocol, on a socket QEMU
// inherited. Commands run one at a time; events are skipped.
type qmp struct {
	conn *net.UnixConn
	r    *bufio.Reader
}

func newQMP(f *os.File) (*qmp, error) {
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("QMP socket: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("QMP socket is a %T, not a unix socket", c)
	}
	return &qmp{conn: uc, r: bufio.NewReader(uc)}, nil
}

// handshake reads the greeting and leaves capabilities negotiation mode.
func (q *qmp) handshake() error {
	if _, err := q.r.ReadBytes('\n'); err != nil {
		return fmt.Errorf("reading the QMP greeting: %w", err)
	}
	return q.do("qmp_capabilities", nil, nil)
}

// do runs one command and decodes its "return" into ret (when not nil).
func (q *qmp) do(cmd string, args any, ret any) error {
	return q.doWithFile(cmd, args, ret, nil)
}

// doWithFile runs a command with a file descriptor attached (for getfd).
func (q *qmp) doWithFile(cmd string, args any, ret any, f *os.File) error {
	msg := map[string]any{"execute": cmd}
	if args != nil {
		msg["arguments"] = args
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	var oob []byte
	if f != nil {
		oob = unix.UnixRights(int(f.Fd()))
	}
	if _, _, err := q.conn.WriteMsgUnix(b, oob, nil); err != nil {
		return fmt.Errorf("QMP %s: %w", cmd, err)
	}
	for {
		line, err := q.r.ReadBytes('\n')
		if err != nil {
			return fmt.Errorf("QMP %s: reading the answer: %w", cmd, err)
		}
		var resp struct {
			Event  string          `json:"event"`
			Return json.RawMessage `json:"return"`
			Error  *struct {
				Class string `json:"class"`
				Desc  string `json:"desc"`
			} `json:"error"`
		}
		if err := json.Unmarshal(line, &resp); err != nil {
			return fmt.Errorf("QMP %s: bad answer %q: %w", cmd, line, err)
		}
		switch {
		case resp.Event != "":
			continue
		case resp.Error != nil:
			return fmt.Errorf("QMP %s: %s: %s", cmd, resp.Error.Class, resp.Error.Desc)
		}
		if ret != nil && len(resp.Return) > 0 {
			return json.Unmarshal(resp.Return, ret)
		}
		return nil
	}
}

func (q *qmp) Close() error { return q.conn.Close() }
