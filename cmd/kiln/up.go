package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"

	"github.com/kilnbuild/kiln/internal/config"
)

func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	flags := config.BindUpFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: kiln up [flags]")
		fmt.Fprintln(fs.Output(), "\nRuns a complete remote cache and remote execution cluster in this process until")
		fmt.Fprintln(fs.Output(), "interrupted: CAS, action cache, scheduler and -workers local worker slots.\n\nFlags:")
		fs.PrintDefaults()
	}
	if ok, err := parseFlags(fs, args, stderr); !ok {
		return err
	}
	cfg, err := flags.Config()
	if err != nil {
		return usageError{err}
	}
	// up is every role by definition; the roles key is for `kiln serve`.
	cfg.Roles = config.AllRoles()
	return runNode(ctx, cfg, nodeUp, stdout, newLogger(cfg.Log, stderr))
}

// dialable turns a listening address into one a local client can dial: a
// wildcard host (0.0.0.0, ::) is not an address to connect to, so it is
// shown as the loopback, which a wildcard listener also serves.
func dialable(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
}
