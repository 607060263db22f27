package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // the command ran and failed: bad config, NATS unusable, ...
	exitUsage = 2 // the command line itself is wrong
)

// streams is where a command writes.
type streams struct {
	stdout, stderr io.Writer
}

// command is one verb of the CLI. Adding a verb is adding one entry to
// commands.
type command struct {
	name    string
	args    string // the synopsis after the name, e.g. "[-config FILE]"
	summary string // one line for the command list
	help    string // what -h prints after the synopsis and before the flags
	hidden  bool   // left out of the command list (plugin processes)
	// flags declares the command's flags on fs; nil for none.
	flags func(fs *flag.FlagSet)
	// run runs the command with the flags parsed and the remaining
	// arguments; it returns the exit code.
	run func(ctx context.Context, s streams, fs *flag.FlagSet, args []string) int
}

// commands is the table of verbs, in the order usage lists them.
func commands() []command {
	return []command{
		serveCommand(),
		getCommand(),
		appendCommand(),
		blockCommand(),
		infoCommand(),
		tailCommand(),
		versionCommand(),
		pluginCommand(),
	}
}

// run is the whole CLI: it dispatches args to a command and returns the
// exit code. ctx ends when the process is asked to stop.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	s := streams{stdout: stdout, stderr: stderr}
	cmds := commands()
	if len(args) == 0 {
		usage(stderr, cmds)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout, cmds)
		return exitOK
	case "help":
		return runHelp(s, cmds, args[1:])
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c.exec(ctx, s, args[1:])
		}
	}
	fmt.Fprintf(stderr, "bridge: unknown command %q\n\n", args[0])
	usage(stderr, cmds)
	return exitUsage
}

func (c command) exec(ctx context.Context, s streams, args []string) int {
	fs := flag.NewFlagSet("bridge "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if c.flags != nil {
		c.flags(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.usage(s.stdout, fs)
			return exitOK
		}
		fmt.Fprintf(s.stderr, "bridge %s: %v\n\n", c.name, err)
		c.usage(s.stderr, fs)
		return exitUsage
	}
	return c.run(ctx, s, fs, fs.Args())
}

// usage prints the command's help: synopsis, text and flags.
func (c command) usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: bridge %s %s\n\n", c.name, c.args)
	if c.help != "" {
		fmt.Fprintln(w, strings.TrimSpace(c.help))
	}
	if fs == nil {
		fs = flag.NewFlagSet(c.name, flag.ContinueOnError)
		if c.flags != nil {
			c.flags(fs)
		}
	}
	var flags strings.Builder
	fs.SetOutput(&flags)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	if flags.Len() > 0 {
		fmt.Fprintf(w, "\nFlags:\n%s", flags.String())
	}
}

// badArgs reports unexpected arguments to a command.
func (c command) badArgs(s streams, fs *flag.FlagSet, args []string) int {
	fmt.Fprintf(s.stderr, "bridge %s: unexpected arguments: %s\n\n", c.name, strings.Join(args, " "))
	c.usage(s.stderr, fs)
	return exitUsage
}

func usage(w io.Writer, cmds []command) {
	fmt.Fprint(w, `bridge hosts Hypercore append-only logs, organised by a Corestore, and
serves them on NATS: store.<name>.get|list, core.<key>.append|block|info,
core.<key>.appended, replicated between bridges through JetStream.

Usage: bridge <command> [arguments]

Commands:
`)
	for _, c := range cmds {
		if !c.hidden {
			fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
		}
	}
	fmt.Fprint(w, `  help       show help for a command

Run "bridge <command> -h" for a command's flags and details.
`)
}

func runHelp(s streams, cmds []command, args []string) int {
	if len(args) == 0 {
		usage(s.stdout, cmds)
		return exitOK
	}
	for _, c := range cmds {
		if c.name == args[0] && len(args) == 1 {
			c.usage(s.stdout, nil)
			return exitOK
		}
	}
	fmt.Fprintf(s.stderr, "bridge help: unknown command %q\n\n", strings.Join(args, " "))
	usage(s.stderr, cmds)
	return exitUsage
}
