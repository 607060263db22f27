package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/corebridge/corebridge/nats"
)

// The client verbs (get, append, block, info, tail) talk to any bridge
// over NATS with the subject API of DESIGN.md §3, for people without the
// nats CLI. They share the flags below, the way they connect, and the way
// they report errors: an error a bridge answered is printed as
// "bridge: <message> (code N)" and exits 1.

// defaultServer is the NATS a client verb connects to without -server and
// $NATS_URL: a bridge's embedded server with the default settings.
const defaultServer = "nats://127.0.0.1:4222"

// defaultRequestTimeout bounds one request without -timeout.
const defaultRequestTimeout = 10 * time.Second

// clientFlags declares the flags every client verb takes.
func clientFlags(fs *flag.FlagSet) {
	server := defaultServer
	if u := os.Getenv("NATS_URL"); u != "" {
		server = u
	}
	fs.String("server", server, "NATS `URL` of a bridge; $NATS_URL sets the default")
	fs.String("prefix", "", "the bridges' subject_prefix `PREFIX`, if they set one")
	fs.Duration("timeout", defaultRequestTimeout, "how long to wait for each answer")
}

// clientUsage is the part of every client verb's help about connecting.
const clientUsage = `
The verb connects to the NATS in -server (default: $NATS_URL, or
` + defaultServer + `, where "bridge serve" listens by default). Keys may
be written as 64 hex characters or as a 52-character z-base-32 id. An error
the bridge answers is printed as "bridge: <message> (code N)" and exits 1.
`

// client is a connection to the bridges on one NATS.
type client struct {
	nc       *natsgo.Conn
	subjects nats.Subjects
	timeout  time.Duration
	// lost is signalled when NATS drops messages for a slow subscriber.
	lost chan struct{}
}

func flagString(fs *flag.FlagSet, name string) string { return fs.Lookup(name).Value.String() }

func flagDuration(fs *flag.FlagSet, name string) time.Duration {
	return fs.Lookup(name).Value.(flag.Getter).Get().(time.Duration)
}

func flagBool(fs *flag.FlagSet, name string) bool {
	return fs.Lookup(name).Value.(flag.Getter).Get().(bool)
}

// dial connects with the client flags in fs.
func dial(ctx context.Context, fs *flag.FlagSet) (*client, error) {
	subjects, err := nats.NewSubjects(flagString(fs, "prefix"))
	if err != nil {
		return nil, err
	}
	c := &client{subjects: subjects, timeout: flagDuration(fs, "timeout"), lost: make(chan struct{}, 1)}
	if c.timeout <= 0 {
		return nil, fmt.Errorf("-timeout %s: must be positive", c.timeout)
	}
	url := flagString(fs, "server")
	c.nc, err = natsgo.Connect(url,
		natsgo.Name("corebridge client"),
		natsgo.Timeout(c.timeout),
		natsgo.ErrorHandler(func(_ *natsgo.Conn, _ *natsgo.Subscription, err error) {
			if errors.Is(err, natsgo.ErrSlowConsumer) {
				select {
				case c.lost <- struct{}{}:
				default:
				}
			}
		}))
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", url, err)
	}
	return c, nil
}

func (c *client) close() { c.nc.Close() }

// request sends data to subject and returns the answer. An error answer
// is returned as a *nats.Error; no answer at all as an error that says
// what that means for subject, given by noResponders.
func (c *client) request(ctx context.Context, subject string, data []byte, hdr natsgo.Header, timeout time.Duration, noResponders func() string) (*natsgo.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m := &natsgo.Msg{Subject: subject, Data: data, Header: hdr}
	msg, err := c.nc.RequestMsgWithContext(ctx, m)
	switch {
	case errors.Is(err, natsgo.ErrNoResponders):
		return nil, noAnswerError(noResponders())
	case errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("no answer on %s within %s", subject, timeout)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", subject, err)
	}
	if e := nats.ReplyError(msg); e != nil {
		return nil, e
	}
	return msg, nil
}

// noAnswerError says that nobody answered a subject, and what that means.
// It matches natsgo.ErrNoResponders.
type noAnswerError string

func (e noAnswerError) Error() string { return string(e) }
func (e noAnswerError) Unwrap() error { return natsgo.ErrNoResponders }

// coreRequest sends a request to core.<key>.<verb>.
func (c *client) coreRequest(ctx context.Context, template string, key [32]byte, data []byte, hdr natsgo.Header, timeout time.Duration) (*natsgo.Msg, error) {
	subject, err := c.subjects.Build(template, nats.KeyHex(key))
	if err != nil {
		return nil, err
	}
	return c.request(ctx, subject, data, hdr, timeout, func() string {
		if template == nats.SubjectCoreAppend {
			return fmt.Sprintf("no bridge answers %s: no bridge holds core %s, or its writer is not running (only the bridge that made a core appends to it)", subject, nats.KeyHex(key))
		}
		return fmt.Sprintf("no bridge answers %s: no bridge holds core %s; open it by key with \"bridge get -key\" first", subject, nats.KeyHex(key))
	})
}

// info returns a core's info.
func (c *client) info(ctx context.Context, key [32]byte) (nats.Info, error) {
	var info nats.Info
	msg, err := c.coreRequest(ctx, nats.SubjectCoreInfo, key, nil, nil, c.timeout)
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(msg.Data, &info); err != nil {
		return info, fmt.Errorf("core info: %w", err)
	}
	return info, nil
}

// block reads block index in format ("" for the encoding's default).
func (c *client) block(ctx context.Context, key [32]byte, index uint64, format string) ([]byte, error) {
	msg, err := c.coreRequest(ctx, nats.SubjectCoreBlock, key, fmt.Appendf(nil, "%d", index), formatHeader(format), c.timeout)
	if err != nil {
		return nil, err
	}
	return msg.Data, nil
}

// formatHeader asks for wire format f, when f is set.
func formatHeader(f string) natsgo.Header {
	if f == "" {
		return nil
	}
	return natsgo.Header{nats.HeaderFormat: []string{f}}
}

// parseKeyArg reads a core key given on the command line.
func parseKeyArg(s string) ([32]byte, error) {
	k, err := nats.ParseKey(s)
	if err != nil {
		return k, fmt.Errorf("KEY: %w", err)
	}
	return k, nil
}

// fail prints err as a client verb's failure and returns exit code 1.
func fail(s streams, err error) int {
	var e *nats.Error
	if errors.As(err, &e) {
		fmt.Fprintf(s.stderr, "bridge: %s (code %d)\n", e.Message, e.Code)
	} else {
		fmt.Fprintf(s.stderr, "bridge: %v\n", err)
	}
	return exitFail
}

// usageError reports a wrong command line for c and returns exit code 2.
func (c command) usageError(s streams, fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(s.stderr, "bridge %s: %s\n\n", c.name, fmt.Sprintf(format, args...))
	c.usage(s.stderr, fs)
	return exitUsage
}

// printJSON writes a JSON reply indented, for people to read.
func printJSON(w io.Writer, data []byte) error {
	var out bytes.Buffer
	if err := json.Indent(&out, data, "", "  "); err != nil {
		return fmt.Errorf("reply is not JSON: %w", err)
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}
