package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"

	natsgo "github.com/nats-io/nats.go"

	"github.com/corebridge/corebridge/nats"
)

func tailCommand() command {
	return command{
		name:    "tail",
		args:    "[-from N] [-n COUNT] [-format F] KEY",
		summary: "print a core's blocks from an index on, and follow new ones",
		help: `
Tail prints the values of a core's blocks, one a line, from block -from on:
first the blocks the core has, then each new block as it is appended, until
it is interrupted (SIGINT) or has printed -n blocks.

It subscribes to core.<key>.appended before it reads what the core has, so
no block is missed between the two, and none is printed twice. Events it
did not get (their index jumps) are read with core.<key>.block.

-format picks the wire format for encodings with more than one: a msgpack
core gives msgpack (the default) or json.
` + clientUsage,
		flags: func(fs *flag.FlagSet) {
			clientFlags(fs)
			fs.Uint64("from", 0, "start at block `N`")
			fs.Int("n", 0, "exit after printing `COUNT` blocks (0: follow until interrupted)")
			fs.String("format", "", "wire `FORMAT` to read values in, e.g. json for a msgpack core")
		},
		run: runTail,
	}
}

// tailBuffer is how many appended events wait for tail to print them
// before NATS drops some; tail then reads the dropped blocks.
const tailBuffer = 8192

func runTail(ctx context.Context, s streams, fs *flag.FlagSet, args []string) int {
	cmd := tailCommand()
	if len(args) != 1 {
		return cmd.usageError(s, fs, "give one KEY")
	}
	key, err := parseKeyArg(args[0])
	if err != nil {
		return cmd.usageError(s, fs, "%v", err)
	}
	count := fs.Lookup("n").Value.(flag.Getter).Get().(int)
	if count < 0 {
		return cmd.usageError(s, fs, "-n %d: must be 0 or more", count)
	}
	from := fs.Lookup("from").Value.(flag.Getter).Get().(uint64)
	format := flagString(fs, "format")

	c, err := dial(ctx, fs)
	if err != nil {
		return fail(s, err)
	}
	defer c.close()
	subject, err := c.subjects.Build(nats.SubjectCoreAppended, nats.KeyHex(key))
	if err != nil {
		return fail(s, err)
	}
	events := make(chan *natsgo.Msg, tailBuffer)
	sub, err := c.nc.ChanSubscribe(subject, events)
	if err != nil {
		return fail(s, fmt.Errorf("subscribe %s: %w", subject, err))
	}
	defer sub.Unsubscribe()
	// The subscription must be in place before tail reads the length.
	if err := c.nc.FlushTimeout(c.timeout); err != nil {
		return fail(s, fmt.Errorf("subscribe %s: %w", subject, err))
	}
	t := &tailer{
		length: func(ctx context.Context) (uint64, error) {
			info, err := c.info(ctx, key)
			return info.Length, err
		},
		block:        func(ctx context.Context, i uint64) ([]byte, error) { return c.block(ctx, key, i, format) },
		events:       events,
		lost:         c.lost,
		useEventData: format == "",
		print: func(v []byte) error {
			_, err := s.stdout.Write(append(v, '\n'))
			return err
		},
	}
	if err := t.run(ctx, from, count); err != nil {
		return fail(s, err)
	}
	return exitOK
}

// tailer prints a core's blocks in order, from catch-up reads and live
// events, without gaps or repeats.
type tailer struct {
	length func(ctx context.Context) (uint64, error)
	block  func(ctx context.Context, index uint64) ([]byte, error)
	// events are the core's appended events, subscribed to before run
	// starts; lost is signalled when some were dropped.
	events <-chan *natsgo.Msg
	lost   <-chan struct{}
	// useEventData prints an event's value; otherwise the block is read
	// (in another format than events carry).
	useEventData bool
	print        func([]byte) error

	next    uint64 // the index of the next block to print
	printed int
}

// errTailDone ends run once it has printed the blocks it was asked for.
var errTailDone = fmt.Errorf("tail: done")

// run prints from block from on, and stops after count blocks (0: never),
// or when ctx ends, which is not an error.
func (t *tailer) run(ctx context.Context, from uint64, count int) error {
	t.next = from
	err := t.follow(ctx, count)
	if err == errTailDone || ctx.Err() != nil {
		return nil
	}
	return err
}

func (t *tailer) follow(ctx context.Context, count int) error {
	emit := func(v []byte) error {
		if err := t.print(v); err != nil {
			return err
		}
		t.next++
		t.printed++
		if count > 0 && t.printed >= count {
			return errTailDone
		}
		return nil
	}
	// catchUp prints the blocks before end that are not printed yet.
	catchUp := func(end uint64) error {
		for t.next < end {
			v, err := t.block(ctx, t.next)
			if err != nil {
				return fmt.Errorf("block %d: %w", t.next, err)
			}
			if err := emit(v); err != nil {
				return err
			}
		}
		return nil
	}
	resync := func() error {
		n, err := t.length(ctx)
		if err != nil {
			return err
		}
		return catchUp(n)
	}
	if err := resync(); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.lost:
			if err := resync(); err != nil {
				return err
			}
		case m, ok := <-t.events:
			if !ok {
				return fmt.Errorf("the subscription to appended events ended")
			}
			index, err := strconv.ParseUint(m.Header.Get(nats.HeaderIndex), 10, 64)
			if err != nil {
				// Not an event as a bridge sends them: trust the length.
				if err := resync(); err != nil {
					return err
				}
				continue
			}
			if index < t.next {
				continue // printed already, in the catch-up
			}
			if err := catchUp(index); err != nil {
				return err
			}
			v := m.Data
			if !t.useEventData {
				if v, err = t.block(ctx, index); err != nil {
					return fmt.Errorf("block %d: %w", index, err)
				}
			}
			if err := emit(v); err != nil {
				return err
			}
		}
	}
}
