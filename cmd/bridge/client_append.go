package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	natsgo "github.com/nats-io/nats.go"

	"github.com/corebridge/corebridge/nats"
)

func appendCommand() command {
	return command{
		name:    "append",
		args:    "[-format F] KEY VALUE... | [-format F] -file FILE... KEY",
		summary: "append values to a core",
		help: `
Append sends values to the bridge that writes the core (core.<key>.append)
and prints its answer: {"length", "byteLength", "fork"}, where length is
the core's length with the last value in it.

Each VALUE argument is one value, in the core's wire format: JSON for a
json core, bytes for a binary core. With -file, each FILE's contents are
one value instead. Several values are one atomic batch, signed once.

-format picks the wire format for encodings with more than one: a msgpack
core takes msgpack (the default) or json.
` + clientUsage,
		flags: func(fs *flag.FlagSet) {
			clientFlags(fs)
			fs.String("format", "", "wire `FORMAT` of the values, e.g. json for a msgpack core")
			fs.Var(&fileList{}, "file", "append the contents of `FILE` as one value; repeat for more")
		},
		run: runAppend,
	}
}

// fileList collects repeated -file flags.
type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(s string) error { *f = append(*f, s); return nil }
func (f *fileList) Get() any           { return []string(*f) }

func runAppend(ctx context.Context, s streams, fs *flag.FlagSet, args []string) int {
	cmd := appendCommand()
	files := fs.Lookup("file").Value.(flag.Getter).Get().([]string)
	switch {
	case len(args) == 0:
		return cmd.usageError(s, fs, "give a KEY and the values")
	case len(files) == 0 && len(args) == 1:
		return cmd.usageError(s, fs, "give at least one VALUE, or -file FILE")
	case len(files) > 0 && len(args) > 1:
		return cmd.usageError(s, fs, "give the values as arguments or with -file, not both")
	}
	key, err := parseKeyArg(args[0])
	if err != nil {
		return cmd.usageError(s, fs, "%v", err)
	}
	var values [][]byte
	for _, v := range args[1:] {
		values = append(values, []byte(v))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return fail(s, err)
		}
		values = append(values, b)
	}

	hdr := formatHeader(flagString(fs, "format"))
	body := values[0]
	if len(values) > 1 {
		if hdr == nil {
			hdr = natsgo.Header{}
		}
		hdr.Set(nats.HeaderBatch, nats.BatchFrames)
		body = nats.AppendFrames(nil, values...)
	}
	c, err := dial(ctx, fs)
	if err != nil {
		return fail(s, err)
	}
	defer c.close()
	msg, err := c.coreRequest(ctx, nats.SubjectCoreAppend, key, body, hdr, c.timeout)
	if err != nil {
		return fail(s, err)
	}
	fmt.Fprintf(s.stdout, "%s\n", msg.Data)
	return exitOK
}
