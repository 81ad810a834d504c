package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/kilnbuild/kiln/internal/config"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	flags := config.BindServeFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: kiln serve [-roles=cas,actioncache,scheduler] [flags]")
		fmt.Fprintln(fs.Output(), "\nServes the chosen roles on one gRPC endpoint until interrupted. A role that")
		fmt.Fprintln(fs.Output(), "stands on the CAS or the action cache without serving it reaches it at -cas")
		fmt.Fprintln(fs.Output(), "and -action-cache. Workers run apart: kiln worker -scheduler=grpc://HOST:PORT.\n\nFlags:")
		fs.PrintDefaults()
	}
	if ok, err := parseFlags(fs, args, stderr); !ok {
		return err
	}
	cfg, err := flags.Config()
	if err != nil {
		return usageError{err}
	}
	return runNode(ctx, cfg, nodeServe, stdout, newLogger(cfg.Log, stderr))
}
