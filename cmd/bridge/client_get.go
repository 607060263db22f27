package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/corebridge/corebridge/nats"
)

func getCommand() command {
	return command{
		name:    "get",
		args:    "[-store NAME] [-namespace A,B] [-encoding ENC] NAME | -key KEY",
		summary: "open or create a core by name or key, print its info",
		help: `
Get asks the bridge of a store (store.<store>.get) for a core and prints its
info as JSON: key, discoveryKey, id, length, byteLength, fork, writable,
valueEncoding, treeHash, signature.

With NAME it gets the writable core the store derives for that name in the
namespace path of -namespace, and creates it, with the value encoding of
-encoding (default binary), when it is new. Asking for an existing core with
another -encoding fails with code 409.

With -key it gets a core by key: writable when the store made it, otherwise
read-only, served for reading and followed through replication.

-wait retries while there is no NATS or no bridge serves the store, which
is what a script wants right after starting a bridge.
` + clientUsage,
		flags: func(fs *flag.FlagSet) {
			clientFlags(fs)
			fs.String("store", "default", "the store `NAME` (the bridge's name setting)")
			fs.String("namespace", "", "comma-separated namespace `PATH` of the core, e.g. app,v2")
			fs.String("encoding", "", "value encoding of a new core: binary (the default), json, msgpack or a plugin's")
			fs.String("key", "", "get the core with this `KEY` instead of one by name")
			fs.Duration("wait", 0, "wait up to this long for NATS and a bridge serving the store to appear")
		},
		run: runGet,
	}
}

// getRequest is a store.<store>.get request.
type getRequest struct {
	Name          string   `json:"name,omitempty"`
	Namespace     []string `json:"namespace,omitempty"`
	ValueEncoding string   `json:"valueEncoding,omitempty"`
	Key           string   `json:"key,omitempty"`
}

func runGet(ctx context.Context, s streams, fs *flag.FlagSet, args []string) int {
	cmd := getCommand()
	var req getRequest
	key := flagString(fs, "key")
	switch {
	case key == "" && len(args) != 1:
		return cmd.usageError(s, fs, "give one NAME, or -key KEY")
	case key != "" && len(args) > 0:
		return cmd.usageError(s, fs, "give a NAME or -key KEY, not both")
	case key != "" && (flagString(fs, "namespace") != "" || flagString(fs, "encoding") != ""):
		return cmd.usageError(s, fs, "-key takes no -namespace or -encoding: the core's writer chose them")
	case key != "":
		k, err := parseKeyArg(key)
		if err != nil {
			return cmd.usageError(s, fs, "-key: %v", err)
		}
		req.Key = nats.KeyHex(k)
	default:
		req.Name, req.ValueEncoding = args[0], flagString(fs, "encoding")
		if ns := flagString(fs, "namespace"); ns != "" {
			req.Namespace = strings.Split(ns, ",")
		}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fail(s, err)
	}
	wait := flagDuration(fs, "wait")
	c, err := dialWaiting(ctx, fs, wait)
	if err != nil {
		return fail(s, err)
	}
	defer c.close()
	store := flagString(fs, "store")
	subject, err := c.subjects.StoreGet(store)
	if err != nil {
		return cmd.usageError(s, fs, "-store: %v", err)
	}
	noBridge := func() string {
		return fmt.Sprintf("no bridge serves store %q on %s (nobody answers %s)", store, c.nc.ConnectedUrlRedacted(), subject)
	}
	msg, err := c.requestWaiting(ctx, subject, body, wait, noBridge)
	if err != nil {
		return fail(s, err)
	}
	if err := printJSON(s.stdout, msg.Data); err != nil {
		return fail(s, err)
	}
	return exitOK
}

// retryInterval is how often -wait tries again.
const retryInterval = 50 * time.Millisecond

// dialWaiting is dial, retried for up to wait while NATS is not there.
func dialWaiting(ctx context.Context, fs *flag.FlagSet, wait time.Duration) (*client, error) {
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(retryInterval)
	defer tick.Stop()
	for {
		c, err := dial(ctx, fs)
		if !errors.Is(err, natsgo.ErrNoServers) || !time.Now().Before(deadline) {
			return c, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-tick.C:
		}
	}
}

// requestWaiting is request, retried while nobody answers, for up to wait.
func (c *client) requestWaiting(ctx context.Context, subject string, body []byte, wait time.Duration, noResponders func() string) (*natsgo.Msg, error) {
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(retryInterval)
	defer tick.Stop()
	for {
		msg, err := c.request(ctx, subject, body, nil, c.timeout, noResponders)
		if !errors.Is(err, natsgo.ErrNoResponders) || !time.Now().Before(deadline) {
			return msg, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-tick.C:
		}
	}
}

func infoCommand() command {
	return command{
		name:    "info",
		args:    "[-server URL] KEY",
		summary: "print a core's info",
		help: `
Info asks any bridge that has the core (core.<key>.info) and prints its info
as JSON: key, discoveryKey, id, length, byteLength, fork, writable,
valueEncoding, treeHash, signature.
` + clientUsage,
		flags: clientFlags,
		run: func(ctx context.Context, s streams, fs *flag.FlagSet, args []string) int {
			cmd := infoCommand()
			if len(args) != 1 {
				return cmd.usageError(s, fs, "give one KEY")
			}
			key, err := parseKeyArg(args[0])
			if err != nil {
				return cmd.usageError(s, fs, "%v", err)
			}
			c, err := dial(ctx, fs)
			if err != nil {
				return fail(s, err)
			}
			defer c.close()
			msg, err := c.coreRequest(ctx, nats.SubjectCoreInfo, key, nil, nil, c.timeout)
			if err != nil {
				return fail(s, err)
			}
			if err := printJSON(s.stdout, msg.Data); err != nil {
				return fail(s, err)
			}
			return exitOK
		},
	}
}
