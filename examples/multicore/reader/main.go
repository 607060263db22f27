// Command reader follows the multicore writer's cores on its own corebridge
// bridge, knowing only core-1's key, and prints every block of core-2 and
// core-3 as it arrives, from the first, one line each ("core-2 #0: hello").
//
//	go run ./examples/multicore/reader [-server URL] [-store NAME] [-n N] [-wait D] -key CORE1-KEY
//	go run ./examples/multicore/reader [flags] CORE1-KEY
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
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("reader", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: reader [-server URL] [-store NAME] [-n N] [-wait D] {-key CORE1-KEY | CORE1-KEY}

Reader asks the bridge whose store is NAME to follow core-1 by key, reads
core-1's block 0 (waiting for it), follows the two cores it names, and
prints every block of both as it arrives, from the first: "core-2 #0: hello".
It runs until SIGINT, or until it has printed N blocks.

Flags:
`)
		fs.PrintDefaults()
	}
	server := fs.String("server", nats.DefaultURL, "NATS `URL` the reader's bridge is on")
	store := fs.String("store", "reader", "store `NAME` of the reader's bridge (name in its config)")
	key := fs.String("key", "", "core-1's key (hex or z-base-32), as the writer logged it")
	limit := fs.Int("n", 0, "stop after printing `N` blocks; 0: never")
	wait := fs.Duration("wait", multicore.DefaultWait, "let each block request wait up to `D` on the bridge, then ask again")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case fs.NArg() == 1 && *key == "":
		*key = fs.Arg(0)
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "reader: unexpected arguments %q; give core-1's key once, with -key or as the only argument\n", fs.Args())
		return 2
	case *key == "":
		fmt.Fprintln(stderr, "reader: core-1's key is missing; give it with -key or as the only argument (the writer logs it)")
		return 2
	}
	nc, err := nats.Connect(*server, nats.Name("corebridge multicore reader"), nats.Timeout(5*time.Second))
	if err != nil {
		fmt.Fprintf(stderr, "reader: connect to NATS at %s: %v\n(is the reader's bridge running? go run ./cmd/bridge serve -config examples/multicore/reader.hcl)\n", *server, err)
		return 1
	}
	defer nc.Close()
	fmt.Fprintf(stderr, "reader: following core-1 %s on store %q; waiting for blocks\n", *key, *store)
	err = multicore.Read(ctx, nc, *store, *key, stdout, *limit, multicore.WithWait(*wait))
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "reader: stopped")
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "reader: %v\n", err)
		return 1
	}
	return 0
}
