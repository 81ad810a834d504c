package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// command is one `kiln NAME` subcommand; commands() is the one list of
// them.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"up", "run a complete cluster in this process (CAS, action cache, scheduler, workers)", runUp},
		{"serve", "serve some roles (cas, actioncache, scheduler) for a cluster of several processes", runServe},
		{"worker", "run actions for a scheduler, dialling out only", runWorker},
		{"microvm", "build the guest image of the microvm isolation (kiln microvm image)", runMicroVM},
		{"version", "print the version of this binary", runVersion},
		{"help", "describe the commands, or one command's flags", runHelp},
	}
}

// usageError is a mistake on the command line; main exits 2 for it.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// run is the whole program: it dispatches to the subcommand named by
// args[0] and returns when it is done, or when ctx ends for commands that
// serve.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		printUsage(stderr)
		return usagef("no command given")
	}
	name := args[0]
	if name == "-h" || name == "-help" || name == "--help" {
		name = "help"
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	printUsage(stderr)
	return usagef("unknown command %q", args[0])
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Kiln is a remote execution and remote cache server for Bazel and other REAPI clients.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: kiln COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'kiln help COMMAND' for a command's flags.")
}

func runHelp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	switch len(args) {
	case 0:
		printUsage(stdout)
		return nil
	case 1:
		if args[0] == "help" {
			printUsage(stdout)
			return nil
		}
		for _, c := range commands() {
			if c.name == args[0] {
				// Every command answers -help with its flags.
				return c.run(ctx, []string{"-help"}, stdout, stdout)
			}
		}
		return usagef("unknown command %q", args[0])
	default:
		return usagef("help takes at most one command, got %q", strings.Join(args, " "))
	}
}

// parseFlags parses args with fs, printing fs's usage to stderr on a
// mistake. It reports whether the command should go on: after -help it
// should not, and there is no error.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (bool, error) {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return false, nil
		}
		return false, usageError{err}
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return false, usagef("%s takes no arguments, got %q", fs.Name(), strings.Join(fs.Args(), " "))
	}
	return true, nil
}
