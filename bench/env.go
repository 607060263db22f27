package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/corebridge/corebridge/config"
	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/nats"
	"github.com/corebridge/corebridge/plugins"
	"github.com/corebridge/corebridge/plugins/builtin"
)

// requestTimeout bounds one request of the bench; a figure whose request
// times out fails the run rather than hiding in a median.
const requestTimeout = 30 * time.Second

// bridgeSpec says how to start a bridge.
type bridgeSpec struct {
	name string
	// url, when set, connects to an existing NATS instead of embedding one.
	url string
	// inProcessEncoding and inProcessStorage run the binary encoding and
	// the storage backend inside the bridge (plugins blocks with
	// in_process = true) instead of as plugin processes.
	inProcessEncoding, inProcessStorage bool
	// storage names the backend; empty for the default, bolt.
	storage string
	// noBlockCache sets corestore.block_cache = 0, so every block read
	// reaches the storage backend.
	noBlockCache bool
}

// benchBridge is a bridge the bench started, with a client of its NATS.
type benchBridge struct {
	*nats.Bridge
	name string
	dir  string
	nc   *natsgo.Conn // a client over TCP, as any service would be
	subj nats.Subjects
}

// pluginCommand runs builtin plugins from this binary; see main.
func (b *bench) pluginCommand(kind plugins.Kind, name string) *plugins.Command {
	c := plugins.TestCommand(kind, name)
	if b.o.plugprof != "" {
		c.Env = append(c.Env, pluginProfileEnv+"="+b.o.plugprof)
	}
	return &c
}

// startBridge starts a bridge from an HCL configuration, as `bridge serve
// -config` would read it, with its data under the bench's directory.
func (b *bench) startBridge(ctx context.Context, s bridgeSpec) (*benchBridge, error) {
	b.dirs++
	dir := filepath.Join(b.tmp, fmt.Sprintf("%s-%d", s.name, b.dirs))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var hcl strings.Builder
	fmt.Fprintf(&hcl, "name = %q\ndata_dir = %q\n", s.name, filepath.Join(dir, "data"))
	if s.url != "" {
		fmt.Fprintf(&hcl, "nats {\n  url = %q\n}\n", s.url)
	} else {
		fmt.Fprintf(&hcl, "nats {\n  listen = \"127.0.0.1:-1\"\n}\n")
	}
	storage := cmp.Or(s.storage, config.DefaultStorage)
	fmt.Fprintf(&hcl, "corestore {\n  storage = %q\n", storage)
	if s.noBlockCache {
		fmt.Fprintf(&hcl, "  block_cache = 0\n")
	}
	fmt.Fprintf(&hcl, "}\n")
	fmt.Fprintf(&hcl, "plugins {\n  dir = %q\n", filepath.Join(dir, "plugins"))
	if s.inProcessEncoding {
		fmt.Fprintf(&hcl, "  encoding \"binary\" {\n    in_process = true\n  }\n")
	}
	if s.inProcessStorage {
		fmt.Fprintf(&hcl, "  storage %q {\n    in_process = true\n  }\n", storage)
	}
	fmt.Fprintf(&hcl, "}\n")
	cfg, err := config.Parse([]byte(hcl.String()), filepath.Join(dir, "bridge.hcl"))
	if err != nil {
		return nil, fmt.Errorf("bridge %s: config: %w", s.name, err)
	}
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	br, err := nats.StartBridge(sctx, cfg, nats.BridgeOptions{
		Logger: b.log.With("bridge", s.name), Encodings: builtin.Encodings(), Storage: builtin.Storage(),
		PluginCommand: b.pluginCommand, Version: "bench",
	})
	if err != nil {
		return nil, fmt.Errorf("bridge %s: %w", s.name, err)
	}
	bb := &benchBridge{Bridge: br, name: s.name, dir: dir}
	bb.subj, _ = nats.NewSubjects("")
	if bb.nc, err = natsgo.Connect(br.Conn.ClientURL(), natsgo.Name("bench client")); err != nil {
		bb.stop()
		return nil, fmt.Errorf("bridge %s: client: %w", s.name, err)
	}
	return bb, nil
}

// stop shuts the bridge down and removes its data.
func (bb *benchBridge) stop() {
	if bb.nc != nil {
		bb.nc.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bb.Shutdown(ctx)
	os.RemoveAll(bb.dir)
}

// request sends one request and returns the reply, or the error it
// carries.
func request(nc *natsgo.Conn, subj string, data []byte, hdr natsgo.Header) (*natsgo.Msg, error) {
	reply, err := nc.RequestMsg(&natsgo.Msg{Subject: subj, Data: data, Header: hdr}, requestTimeout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", subj, err)
	}
	if e := nats.ReplyError(reply); e != nil {
		return nil, fmt.Errorf("%s: %w (code %d)", subj, e, e.Code)
	}
	return reply, nil
}

// storeGet asks a bridge for a core, by name (created, writable, binary)
// or by key (followed).
func (bb *benchBridge) storeGet(body any) (nats.Info, error) {
	var info nats.Info
	subj, err := bb.subj.StoreGet(bb.name)
	if err != nil {
		return info, err
	}
	data, err := json.Marshal(body)
	if err != nil {
		return info, err
	}
	reply, err := request(bb.nc, subj, data, nil)
	if err != nil {
		return info, err
	}
	return info, json.Unmarshal(reply.Data, &info)
}

// benchCore is a core a bench client talks to.
type benchCore struct {
	key           core.Key
	append, block string
}

// createCore creates a binary core by name on bb.
func (bb *benchBridge) createCore(name string) (*benchCore, error) {
	info, err := bb.storeGet(map[string]any{"name": name, "valueEncoding": "binary"})
	if err != nil {
		return nil, err
	}
	return bb.coreOf(info)
}

func (bb *benchBridge) coreOf(info nats.Info) (*benchCore, error) {
	key, err := core.ParseKey(info.Key)
	if err != nil {
		return nil, err
	}
	return &benchCore{key: key, append: bb.subj.CoreAppend(key), block: bb.subj.CoreBlock(key)}, nil
}

// appendReply is the JSON answer to an append.
type appendReply struct {
	Length     uint64 `json:"length"`
	ByteLength uint64 `json:"byteLength"`
	Fork       uint64 `json:"fork"`
}

// appendValues appends values in one request (framed when more than one)
// and returns the core's length after them.
func appendValues(nc *natsgo.Conn, c *benchCore, values ...[]byte) (uint64, error) {
	var hdr natsgo.Header
	data := values[0]
	if len(values) > 1 {
		hdr = natsgo.Header{nats.HeaderBatch: []string{nats.BatchFrames}}
		data = nats.AppendFrames(nil, values...)
	}
	reply, err := request(nc, c.append, data, hdr)
	if err != nil {
		return 0, err
	}
	var r appendReply
	if err := json.Unmarshal(reply.Data, &r); err != nil {
		return 0, fmt.Errorf("append reply %q: %w", reply.Data, err)
	}
	return r.Length, nil
}

// fill appends n values to c in batches of up to 500.
func fill(nc *natsgo.Conn, c *benchCore, n int) error {
	v := value()
	batch := make([][]byte, 0, 500)
	for done := 0; done < n; done += len(batch) {
		batch = batch[:0]
		for len(batch) < 500 && done+len(batch) < n {
			batch = append(batch, v)
		}
		if _, err := appendValues(nc, c, batch...); err != nil {
			return err
		}
	}
	return nil
}

// value is a 1 KiB value.
func value() []byte {
	v := make([]byte, valueSize)
	for i := range v {
		v[i] = 'a' + byte(i%26)
	}
	return v
}

// indexText is the body of a block request for index i.
func indexText(i uint64) []byte { return strconv.AppendUint(nil, i, 10) }
