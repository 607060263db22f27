package main

import (
	"context"
	"encoding/json"
	"flag"
	"strconv"
	"time"

	"github.com/corebridge/corebridge/nats"
)

func blockCommand() command {
	return command{
		name:    "block",
		args:    "[-wait] [-timeout D] [-format F] KEY INDEX",
		summary: "print one block of a core",
		help: `
Block reads block INDEX (from 0) from any bridge that has the core
(core.<key>.block) and prints its value followed by a newline.

Without -wait, a block past the core's length fails with code 404. With
-wait the bridge answers when the block is appended, or fails with code 404
after -timeout.

-format picks the wire format for encodings with more than one: a msgpack
core gives msgpack (the default) or json.
` + clientUsage,
		flags: func(fs *flag.FlagSet) {
			clientFlags(fs)
			fs.Bool("wait", false, "wait up to -timeout for a block the core does not have yet")
			fs.String("format", "", "wire `FORMAT` to read the value in, e.g. json for a msgpack core")
		},
		run: runBlock,
	}
}

// waitMargin is how much longer than a waiting block request's own
// timeout the client waits for the bridge's answer.
const waitMargin = 5 * time.Second

func runBlock(ctx context.Context, s streams, fs *flag.FlagSet, args []string) int {
	cmd := blockCommand()
	if len(args) != 2 {
		return cmd.usageError(s, fs, "give a KEY and an INDEX")
	}
	key, err := parseKeyArg(args[0])
	if err != nil {
		return cmd.usageError(s, fs, "%v", err)
	}
	index, err := strconv.ParseUint(args[1], 10, 64)
	if err != nil {
		return cmd.usageError(s, fs, "INDEX %q is not a block index (0, 1, ...)", args[1])
	}
	c, err := dial(ctx, fs)
	if err != nil {
		return fail(s, err)
	}
	defer c.close()
	var value []byte
	if flagBool(fs, "wait") {
		body, _ := json.Marshal(map[string]any{"index": index, "wait": true, "timeout": c.timeout.String()})
		msg, err := c.coreRequest(ctx, nats.SubjectCoreBlock, key, body, formatHeader(flagString(fs, "format")), c.timeout+waitMargin)
		if err != nil {
			return fail(s, err)
		}
		value = msg.Data
	} else if value, err = c.block(ctx, key, index, flagString(fs, "format")); err != nil {
		return fail(s, err)
	}
	s.stdout.Write(append(value, '\n'))
	return exitOK
}
