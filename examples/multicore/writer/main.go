// Command writer keeps three cores on a corebridge bridge and appends the
// lines it reads from stdin to them: short lines to core-2, long ones to
// core-3. core-1's block 0 names the other two, so a reader needs only
// core-1's key, which writer logs first and prints on stdout at the end.
//
//	go run ./examples/multicore/writer [-server URL] [-store NAME] < lines
//
// See examples/multicore/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/corebridge/corebridge/examples/multicore/multicore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("writer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: writer [-server URL] [-store NAME] < lines

Writer creates core-2, core-3 and core-1 (JSON values) on the bridge whose
store is NAME, writes core-1's block 0 {"otherKeys": [core-2, core-3]} if
core-1 is empty, then appends each line of stdin to core-2 if it has fewer
than %d characters, to core-3 otherwise. It logs to stderr and prints
core-1's key on stdout when stdin ends. SIGINT stops it.

Flags:
`, multicore.ShortLine)
		fs.PrintDefaults()
	}
	server := fs.String("server", nats.DefaultURL, "NATS `URL` the writer's bridge is on")
	store := fs.String("store", "writer", "store `NAME` of the writer's bridge (name in its config)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "writer: unexpected arguments %q; the lines come from stdin\n", fs.Args())
		return 2
	}
	nc, err := nats.Connect(*server, nats.Name("corebridge multicore writer"), nats.Timeout(5*time.Second))
	if err != nil {
		fmt.Fprintf(stderr, "writer: connect to NATS at %s: %v\n(is the writer's bridge running? go run ./cmd/bridge serve -config examples/multicore/writer.hcl)\n", *server, err)
		return 1
	}
	defer nc.Close()
	key, err := multicore.Write(ctx, nc, *store, stdin, stderr)
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "writer: stopped")
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "writer: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, key)
	return 0
}
