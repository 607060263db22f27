package nats

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
)

// Malformed and hostile requests on every subject: each is refused with
// the documented code and a message that says what is wrong, and the
// bridge goes on serving everyone else.

// maxValueTest is limits.max_value_size in these tests.
const maxValueTest = 64

// hostileCase is one request and the error it must get.
type hostileCase struct {
	name    string
	subject string // %[1]s json core, %[2]s binary, %[3]s msgpack, %[4]s the store
	data    []byte
	hdr     []string
	code    int
	phrase  string // the message must contain it
}

func hostileCases() []hostileCase {
	hex64 := strings.Repeat("ab", 32)
	z52 := "o4rqr5zc5zbpjcffewirr7ju8zw5ipcwr53hgbdz4njojad9erao"
	get := "store.%[4]s.get"
	j, b, m := "core.%[1]s.", "core.%[2]s.", "core.%[3]s."
	frame := func(n uint32, rest ...byte) []byte { return append(binary.BigEndian.AppendUint32(nil, n), rest...) }
	return []hostileCase{
		// store.<store>.get
		{"key too short", get, []byte(`{"key": "abc"}`), nil, 400, "neither 64 hex characters nor 52 z-base-32"},
		{"key 63 hex", get, []byte(`{"key": "` + hex64[1:] + `"}`), nil, 400, "neither 64 hex characters nor 52 z-base-32"},
		{"key 65 hex", get, []byte(`{"key": "` + hex64 + `a"}`), nil, 400, "neither 64 hex characters nor 52 z-base-32"},
		{"key not hex", get, []byte(`{"key": "` + strings.Repeat("g", 64) + `"}`), nil, 400, "not valid hex"},
		{"key not z32", get, []byte(`{"key": "0` + z52[1:] + `"}`), nil, 400, "not a z-base-32 character"},
		{"key with subject wildcard", get, []byte(`{"key": "*"}`), nil, 400, "neither 64 hex"},
		{"get not JSON", get, []byte(`name=x`), nil, 400, "must be JSON"},
		{"get empty", get, nil, nil, 400, "must be JSON"},
		{"get JSON array", get, []byte(`["x"]`), nil, 400, "must be JSON"},
		{"get null", get, []byte(`null`), nil, 400, `needs a "name"`},
		{"get name and key", get, []byte(`{"name": "x", "key": "` + hex64 + `"}`), nil, 400, `both "name" and "key"`},
		{"get neither", get, []byte(`{}`), nil, 400, `needs a "name"`},
		{"get namespace only", get, []byte(`{"namespace": ["a"]}`), nil, 400, `needs a "name"`},
		{"get unknown field", get, []byte(`{"name": "x", "encoding": "json"}`), nil, 400, `unknown field "encoding"`},
		{"get name not a string", get, []byte(`{"name": 5}`), nil, 400, "must be JSON"},
		{"get empty namespace element", get, []byte(`{"name": "x", "namespace": ["a", ""]}`), nil, 400, "namespace element 1 is empty"},
		{"get namespace not strings", get, []byte(`{"name": "x", "namespace": [1]}`), nil, 400, "must be JSON"},
		{"get two objects", get, []byte(`{"name": "x"} {"name": "y"}`), nil, 400, "data after its JSON object"},
		{"get NUL in name", get, []byte(`{"name": "a\u0000b"}`), nil, 400, "NUL"},
		{"get key with namespace", get, []byte(`{"key": "` + hex64 + `", "namespace": ["a"]}`), nil, 400, `takes no "namespace" or "valueEncoding"`},
		{"get key with encoding", get, []byte(`{"key": "` + hex64 + `", "valueEncoding": "json"}`), nil, 400, `takes no "namespace" or "valueEncoding"`},
		{"unknown encoding", get, []byte(`{"name": "x", "valueEncoding": "yaml"}`), nil, 400, `unknown value encoding "yaml"`},
		{"encoding with a path", get, []byte(`{"name": "x", "valueEncoding": "../../bin/sh"}`), nil, 400, "unknown value encoding"},
		{"other encoding", get, []byte(`{"name": "json-core", "valueEncoding": "binary"}`), nil, 409, `already exists with valueEncoding "json", not "binary"`},

		// core.<key>.append
		{"invalid JSON", j + "append", []byte(`{"a": `), nil, 400, "value 0: invalid value"},
		{"JSON with trailing data", j + "append", []byte(`1 2`), nil, 400, "value 0: invalid value"},
		{"invalid JSON in frames", j + "append", AppendFrames(nil, []byte(`1`), []byte(`nope`)), []string{HeaderBatch, BatchFrames}, 400, "value 1: invalid value"},
		{"invalid msgpack", m + "append", []byte{0xc1}, nil, 400, "value 0: invalid value"},
		{"invalid JSON for msgpack", m + "append", []byte(`{`), []string{HeaderFormat, "json"}, 400, "value 0: invalid value"},
		{"value too large", j + "append", []byte(`"` + strings.Repeat("x", maxValueTest) + `"`), nil, 413, "limits.max_value_size"},
		{"frame too large", b + "append", AppendFrames(nil, []byte("ok"), make([]byte, maxValueTest+1)), []string{HeaderBatch, BatchFrames}, 413, "batch value 1 is 65 bytes"},
		{"JSON batch element too large", j + "append", []byte(`[1, "` + strings.Repeat("x", maxValueTest) + `"]`), []string{HeaderBatch, BatchJSON}, 413, "batch value 1"},
		{"frame length over the limit, truncated", b + "append", frame(1 << 31), []string{HeaderBatch, BatchFrames}, 413, "over the limit"},
		{"unknown framing", b + "append", []byte("x"), []string{HeaderBatch, "csv"}, 400, `"csv" is not a known framing`},
		{"framing in upper case", b + "append", []byte("x"), []string{HeaderBatch, "FRAMES"}, 400, "not a known framing"},
		{"truncated frame", b + "append", frame(5, 'a'), []string{HeaderBatch, BatchFrames}, 400, "says 5 bytes but 1 are left"},
		{"truncated length", b + "append", append(AppendFrames(nil, []byte("a")), 0, 0), []string{HeaderBatch, BatchFrames}, 400, "too few for a 4-byte length"},
		{"empty frames", b + "append", nil, []string{HeaderBatch, BatchFrames}, 400, "batch has no values"},
		{"JSON batch not an array", j + "append", []byte(`{"a": 1}`), []string{HeaderBatch, BatchJSON}, 400, "not a JSON array"},
		{"JSON batch empty", j + "append", []byte(`[]`), []string{HeaderBatch, BatchJSON}, 400, "batch has no values"},
		{"JSON batch for binary", b + "append", []byte(`["a"]`), []string{HeaderBatch, BatchJSON}, 400, "unsupported format"},
		{"JSON batch as msgpack", m + "append", []byte(`[1]`), []string{HeaderBatch, BatchJSON, HeaderFormat, "msgpack"}, 400, "carries values in the json format"},
		{"unknown format", j + "append", []byte(`1`), []string{HeaderFormat, "xml"}, 400, "unsupported format"},
		{"json format for binary", b + "append", []byte(`1`), []string{HeaderFormat, "json"}, 400, "unsupported format"},

		// core.<key>.block (the json core has one block)
		{"index out of range", j + "block", []byte(`1`), nil, 404, "has 1 blocks, so block 1 does not exist yet"},
		{"JSON index out of range", j + "block", []byte(`{"index": 99}`), nil, 404, "does not exist yet"},
		{"largest index", j + "block", []byte(`18446744073709551615`), nil, 404, "does not exist yet"},
		{"index overflows", j + "block", []byte(`18446744073709551616`), nil, 400, "not a non-negative decimal number"},
		{"index not a number", j + "block", []byte(`first`), nil, 400, `block index "first" is not a non-negative decimal number`},
		{"negative index", j + "block", []byte(`-1`), nil, 400, "not a non-negative decimal number"},
		{"index with sign", j + "block", []byte(`+1`), nil, 400, "not a non-negative decimal number"},
		{"index as float", j + "block", []byte(`1e0`), nil, 400, "not a non-negative decimal number"},
		{"empty block request", j + "block", nil, nil, 400, "block request is empty"},
		{"block request bad JSON", j + "block", []byte(`{"index": `), nil, 400, "not valid JSON"},
		{"block request unknown field", j + "block", []byte(`{"index": 0, "follow": true}`), nil, 400, `unknown field "follow"`},
		{"block request negative", j + "block", []byte(`{"index": -1}`), nil, 400, "not valid JSON"},
		{"block request fraction", j + "block", []byte(`{"index": 0.5}`), nil, 400, "not valid JSON"},
		{"block request no index", j + "block", []byte(`{"wait": true}`), nil, 400, `has no "index"`},
		{"block request trailing data", j + "block", []byte(`{"index": 0} 1`), nil, 400, "data after its JSON object"},
		{"timeout without wait", j + "block", []byte(`{"index": 0, "timeout": "5s"}`), nil, 400, `has a "timeout" but not "wait": true`},
		{"timeout not a duration", j + "block", []byte(`{"index": 0, "wait": true, "timeout": "soon"}`), nil, 400, `timeout "soon" is not a positive duration`},
		{"timeout negative", j + "block", []byte(`{"index": 0, "wait": true, "timeout": "-5s"}`), nil, 400, "not a positive duration"},
		{"timeout too long", j + "block", []byte(`{"index": 0, "wait": true, "timeout": "11m"}`), nil, 400, "over the limit of 10m0s"},
		{"wait runs out", j + "block", []byte(`{"index": 5, "wait": true, "timeout": "1ms"}`), nil, 404, "did not arrive within 1ms"},
		{"block unknown format", j + "block", []byte(`0`), []string{HeaderFormat, "xml"}, 400, "unsupported format"},
		{"msgpack binary as JSON", m + "block", []byte(`0`), []string{HeaderFormat, "json"}, 400, "not representable"},
	}
}

// seedHostile makes the cores the hostile cases use: a json core with one
// block, a binary core, and a msgpack core whose block 0 is binary data
// (no JSON form). It returns their keys.
func seedHostile(a *api) (j, b, m string) {
	j = a.get(`{"name": "json-core", "valueEncoding": "json"}`).Key
	b = a.get(`{"name": "binary-core", "valueEncoding": "binary"}`).Key
	m = a.get(`{"name": "msgpack-core", "valueEncoding": "msgpack"}`).Key
	a.append(j, []byte(`"only"`))
	a.append(m, []byte{0xc4, 0x01, 0xff}) // bin 8, one byte
	return j, b, m
}

// goodTraffic appends to and reads from its own core until stop closes,
// and then reports how many round trips it made and the first failure.
func goodTraffic(nc *natsgo.Conn, key string, stop <-chan struct{}) <-chan error {
	done := make(chan error, 1)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				if n == 0 {
					done <- errors.New("no round trip finished")
				} else {
					done <- nil
				}
				return
			default:
			}
			v := fmt.Appendf(nil, "good %d", n)
			msg, err := nc.Request("core."+key+".append", v, reqTimeout)
			if err == nil && ReplyError(msg) != nil {
				err = ReplyError(msg)
			}
			if err != nil {
				done <- fmt.Errorf("append %d: %w", n, err)
				return
			}
			if msg, err = nc.Request("core."+key+".block", []byte(strconv.Itoa(n)), reqTimeout); err == nil && ReplyError(msg) != nil {
				err = ReplyError(msg)
			}
			if err == nil && !bytes.Equal(msg.Data, v) {
				err = fmt.Errorf("block %d = %q, want %q", n, msg.Data, v)
			}
			if err != nil {
				done <- fmt.Errorf("block %d: %w", n, err)
				return
			}
			n++
		}
	}()
	return done
}

func TestServiceBadInput(t *testing.T) {
	cfg := testConfig(t)
	cfg.Limits.MaxValueSize = maxValueTest
	br := startBridge(t, cfg)
	a := newAPI(t, br, "test")
	j, b, m := seedHostile(a)
	good := a.get(`{"name": "good"}`).Key

	stop := make(chan struct{})
	traffic := goodTraffic(client(t, br), good, stop)
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			subj := fmt.Sprintf(tc.subject, j, b, m, "test")
			msg, err := a.nc.RequestMsg(requestMsg(subj, tc.data, tc.hdr...), reqTimeout)
			if err != nil {
				t.Fatalf("%s %.80q: %v", subj, tc.data, err)
			}
			e := ReplyError(msg)
			if e == nil {
				t.Fatalf("%s %.80q %v: answered %.80q, want error %d", subj, tc.data, tc.hdr, msg.Data, tc.code)
			}
			if e.Code != tc.code || !strings.Contains(e.Message, tc.phrase) {
				t.Errorf("%s %.80q %v:\n got %d %s\nwant %d ...%s...", subj, tc.data, tc.hdr, e.Code, e.Message, tc.code, tc.phrase)
			}
			if len(msg.Data) != 0 {
				t.Errorf("error reply has a body: %q", msg.Data)
			}
		})
	}
	close(stop)
	if err := <-traffic; err != nil {
		t.Errorf("good traffic during hostile requests: %v", err)
	}

	// Nothing hostile was stored, and the bridge still works.
	for key, want := range map[string]uint64{j: 1, b: 0, m: 1} {
		if got := a.info(key).Length; got != want {
			t.Errorf("core %s has length %d after hostile requests, want %d", key, got, want)
		}
	}
	n := a.info(good).Length
	if r := a.append(good, []byte("after")); r.Length != n+1 {
		t.Errorf("append after: %+v, want length %d", r, n+1)
	}
	if got := a.block(good, strconv.FormatUint(n, 10)); string(got.Data) != "after" {
		t.Errorf("block after = %q", got.Data)
	}
	// Verbs that take no body ignore one.
	var list []Info
	decodeJSON(t, a.ok("store.test.list", []byte("\x00{garbage")).Data, &list)
	if len(list) != 4 {
		t.Errorf("store.list with a body lists %d cores, want 4", len(list))
	}
	if got := a.ok("core."+j+".info", []byte("\x00{garbage")); ReplyError(got) != nil {
		t.Errorf("info with a body: %v", ReplyError(got))
	}
	if r := a.append(j, []byte(`["x", {"y": null}]`), HeaderBatch, BatchJSON); r.Length != 3 {
		t.Errorf("json core append after: %+v, want length 3", r)
	}
}

// TestServiceNoResponders: subjects of cores a bridge does not serve, or
// whose writer it is not, get no responders at once, not a timeout.
func TestServiceNoResponders(t *testing.T) {
	br := startBridge(t, testConfig(t))
	a := newAPI(t, br, "test")
	unknown := strings.Repeat("0", 64)
	// A core this bridge follows by key but whose secret key it lacks.
	foreign := a.get(`{"key": "o4rqr5zc5zbpjcffewirr7ju8zw5ipcwr53hgbdz4njojad9erao"}`)
	if foreign.Writable {
		t.Fatalf("a core by an unknown key is writable: %+v", foreign)
	}
	own := a.get(`{"name": "mine"}`).Key
	for _, subj := range []string{
		"core." + unknown + ".append",
		"core." + unknown + ".block",
		"core." + unknown + ".info",
		"core." + foreign.Key + ".append",
		"core." + strings.ToUpper(own) + ".append", // subjects carry lowercase hex
		"core." + foreign.ID + ".info",             // and not z-base-32
		"store.other.get",
		"store.test.put",
	} {
		start := time.Now()
		_, err := a.nc.Request(subj, []byte("1"), reqTimeout)
		if !errors.Is(err, natsgo.ErrNoResponders) {
			t.Errorf("%s: %v, want no responders", subj, err)
		}
		if d := time.Since(start); d > reqTimeout/2 {
			t.Errorf("%s: no responders took %s", subj, d)
		}
	}
	// The core it follows is served for reading.
	if e := a.fail("core."+foreign.Key+".block", []byte("0")); e.Code != CodeNotFound {
		t.Errorf("block of an empty followed core: %d %s", e.Code, e.Message)
	}
	if got := a.info(foreign.Key); got.Key != foreign.Key || got.Writable {
		t.Errorf("info of a followed core: %+v", got)
	}
}

// TestServiceAppendOnlyOwner runs two bridges on one NATS: the second is a
// client of the first's embedded server, with its own store name and
// data_dir. A core opened by key on a bridge that did not make it gets
// appends answered only by its owner, and no responders without one.
func TestServiceAppendOnlyOwner(t *testing.T) {
	first := startBridge(t, testConfig(t))
	cfg2 := testConfig(t)
	cfg2.Name = "second"
	cfg2.NATS.URL = first.Conn.ClientURL()
	second := startBridge(t, cfg2)
	a1 := newAPI(t, first, "test")
	a2 := newAPI(t, second, "second")

	// Made by the first bridge, followed by the second.
	x := a1.get(`{"name": "x"}`)
	if got := a2.get(fmt.Sprintf(`{"key": %q}`, x.Key)); got.Writable || got.Key != x.Key {
		t.Fatalf("second bridge opened %+v", got)
	}
	// Every append is the owner's: each is answered once, with the next
	// length, however many bridges follow the core.
	sub, err := a1.nc.SubscribeSync(a1.nc.NewRespInbox())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := a1.nc.PublishRequest("core."+x.Key+".append", sub.Subject, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		msg, err := sub.NextMsg(reqTimeout)
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		if e := ReplyError(msg); e != nil {
			t.Fatalf("reply %d: %d %s", i, e.Code, e.Message)
		}
		if want := fmt.Sprintf(`{"length":%d,`, i+1); !strings.HasPrefix(string(msg.Data), want) {
			t.Errorf("reply %d: %s, want %s...", i, msg.Data, want)
		}
	}
	if err := a1.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if msg, err := sub.NextMsg(0); err == nil {
		t.Errorf("a second answer to an append: %s %v", msg.Data, msg.Header)
	}

	// Made by the second bridge, followed by the first; with the second
	// gone nobody may append.
	y := a2.get(`{"name": "y"}`)
	a1.get(fmt.Sprintf(`{"key": %q}`, y.Key))
	a2.append(y.Key, []byte("from the owner"))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := second.Shutdown(ctx); err != nil {
		t.Fatalf("second bridge shutdown: %v", err)
	}
	_, err = a1.nc.Request("core."+y.Key+".append", []byte("from a follower"), reqTimeout)
	if !errors.Is(err, natsgo.ErrNoResponders) {
		t.Errorf("append with the owner gone: %v, want no responders", err)
	}
	if got := a1.info(y.Key); got.Writable {
		t.Errorf("the follower says it can write: %+v", got)
	}
}
