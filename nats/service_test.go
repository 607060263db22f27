package nats

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/corestore"
	"github.com/corebridge/corebridge/internal/vectors"
)

// End-to-end tests of the subject API (DESIGN.md §3) on whole bridges:
// real plugin processes, bolt storage in a temporary data_dir and an
// embedded NATS.

// reqTimeout bounds every request a test makes. Bridges answer in
// milliseconds; a test that waits this long has found a hang.
const reqTimeout = 10 * time.Second

// api is a test client of one bridge's subject API. Its methods fail the
// test on a transport error, so they are for the test's own goroutine;
// concurrent clients use api.nc directly.
type api struct {
	t     testing.TB
	nc    *natsgo.Conn
	store string
}

func newAPI(t testing.TB, b *Bridge, store string) *api {
	return &api{t: t, nc: client(t, b), store: store}
}

// requestMsg builds a request; hdr holds header names and values in pairs.
func requestMsg(subject string, data []byte, hdr ...string) *natsgo.Msg {
	m := natsgo.NewMsg(subject)
	m.Data = data
	for i := 0; i+1 < len(hdr); i += 2 {
		m.Header.Set(hdr[i], hdr[i+1])
	}
	return m
}

// do sends a request and returns whatever the bridge answered, error
// replies included.
func (a *api) do(subject string, data []byte, hdr ...string) *natsgo.Msg {
	a.t.Helper()
	msg, err := a.nc.RequestMsg(requestMsg(subject, data, hdr...), reqTimeout)
	if err != nil {
		a.t.Fatalf("request %s %.80q: %v", subject, data, err)
	}
	return msg
}

// ok sends a request that must succeed.
func (a *api) ok(subject string, data []byte, hdr ...string) *natsgo.Msg {
	a.t.Helper()
	msg := a.do(subject, data, hdr...)
	if e := ReplyError(msg); e != nil {
		a.t.Fatalf("request %s %.80q: error %d: %s", subject, data, e.Code, e.Message)
	}
	return msg
}

// fail sends a request that must be refused, and returns the error.
func (a *api) fail(subject string, data []byte, hdr ...string) *Error {
	a.t.Helper()
	msg := a.do(subject, data, hdr...)
	e := ReplyError(msg)
	if e == nil {
		a.t.Fatalf("request %s %.80q succeeded (%.200q), want an error", subject, data, msg.Data)
	}
	return e
}

func (a *api) get(body string) Info {
	a.t.Helper()
	var info Info
	decodeJSON(a.t, a.ok("store."+a.store+".get", []byte(body)).Data, &info)
	return info
}

func (a *api) info(key string) Info {
	a.t.Helper()
	var info Info
	decodeJSON(a.t, a.ok("core."+key+".info", nil).Data, &info)
	return info
}

func (a *api) append(key string, data []byte, hdr ...string) appendReply {
	a.t.Helper()
	var r appendReply
	decodeJSON(a.t, a.ok("core."+key+".append", data, hdr...).Data, &r)
	return r
}

func (a *api) block(key string, req string, hdr ...string) *natsgo.Msg {
	a.t.Helper()
	return a.ok("core."+key+".block", []byte(req), hdr...)
}

func decodeJSON(t testing.TB, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("reply %.200q: %v", data, err)
	}
}

// checkBlockHeaders checks the index, length and fork headers of a block
// reply or an appended event.
func checkBlockHeaders(t testing.TB, m *natsgo.Msg, index, length, fork uint64) {
	t.Helper()
	for _, h := range []struct {
		name string
		want uint64
	}{{HeaderIndex, index}, {HeaderLength, length}, {HeaderFork, fork}} {
		if got := m.Header.Get(h.name); got != strconv.FormatUint(h.want, 10) {
			t.Errorf("%s header %q, want %d (message %.80q)", h.name, got, h.want, m.Data)
		}
	}
}

// derivedKey is the key corestore derives for name in the namespace path
// from the primary key kept in dataDir.
func derivedKey(t testing.TB, dataDir string, compat bool, namespace []string, name string) core.Key {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dataDir, corestore.PrimaryKeyFile)); err != nil {
		t.Fatalf("no primary key: %v", err) // LoadPrimaryKey would make one
	}
	pk, err := corestore.LoadPrimaryKey(dataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ns := corestore.DefaultNamespace
	for _, n := range namespace {
		ns = corestore.ChildNamespace(ns, []byte(n))
	}
	kp := corestore.DeriveKeyPair(pk, ns, []byte(name))
	if compat {
		var k core.Key
		copy(k[:], kp.PublicKey)
		return k
	}
	return core.DefaultManifest(1, kp.PublicKey).Hash()
}

// wantInfo is the info of a new, empty writable core with key.
func wantInfo(key core.Key, enc string) Info {
	dk := core.DiscoveryKey(key)
	return Info{
		Key: hex.EncodeToString(key[:]), DiscoveryKey: hex.EncodeToString(dk[:]), ID: key.ID(),
		Writable: true, ValueEncoding: enc,
	}
}

// withoutState clears what wantInfo leaves out: the tree hash and signature.
func withoutState(i Info) Info {
	i.TreeHash, i.Signature = "", ""
	return i
}

func TestServiceCreateByName(t *testing.T) {
	for _, compat := range []bool{false, true} {
		t.Run(fmt.Sprintf("compat=%v", compat), func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			cfg.Corestore.Compat = compat
			b := startBridge(t, cfg)
			a := newAPI(t, b, "test")
			tests := []struct {
				body      string
				namespace []string
				name, enc string
			}{
				{`{"name": "j", "valueEncoding": "json"}`, nil, "j", "json"},
				{`{"name": "b", "valueEncoding": "binary"}`, nil, "b", "binary"},
				{`{"name": "m", "valueEncoding": "msgpack"}`, nil, "m", "msgpack"},
				{`{"name": "default-encoding"}`, nil, "default-encoding", "binary"},
				{`{"name": "j", "namespace": ["app"], "valueEncoding": "json"}`, []string{"app"}, "j", "json"},
				{`{"name": "j", "namespace": ["app", "v2"], "valueEncoding": "msgpack"}`, []string{"app", "v2"}, "j", "msgpack"},
				{`{"name": "ключ 🔑", "namespace": ["ünïcødé-ns"]}`, []string{"ünïcødé-ns"}, "ключ 🔑", "binary"},
			}
			seen := map[string]string{}
			for _, tt := range tests {
				got := a.get(tt.body)
				key := derivedKey(t, cfg.DataDir, compat, tt.namespace, tt.name)
				if diff := cmp.Diff(wantInfo(key, tt.enc), withoutState(got)); diff != "" {
					t.Errorf("%s: info (-want +got):\n%s", tt.body, diff)
				}
				if prev, dup := seen[got.Key]; dup {
					t.Errorf("%s and %s got the same key", prev, tt.body)
				}
				seen[got.Key] = tt.body

				// Asking again, by name or by key in any spelling, gives the
				// same core.
				for _, again := range []string{
					tt.body,
					fmt.Sprintf(`{"key": %q}`, got.Key),
					fmt.Sprintf(`{"key": %q}`, strings.ToUpper(got.Key)),
					fmt.Sprintf(`{"key": %q}`, got.ID),
					fmt.Sprintf(`{"key": "pear://%s/x"}`, got.ID),
				} {
					if diff := cmp.Diff(got, a.get(again)); diff != "" {
						t.Errorf("%s after %s (-first +again):\n%s", again, tt.body, diff)
					}
				}
			}

			// A signature is stored per append: 68 bytes in manifest mode,
			// 64 in compat mode.
			info := a.get(`{"name": "b"}`)
			a.append(info.Key, []byte("x"))
			info = a.info(info.Key)
			sigLen := 68
			if compat {
				sigLen = 64
			}
			if sig, err := hex.DecodeString(info.Signature); err != nil || len(sig) != sigLen {
				t.Errorf("signature %q: %d bytes, want %d (%v)", info.Signature, len(sig), sigLen, err)
			}
			if th, err := hex.DecodeString(info.TreeHash); err != nil || len(th) != 32 {
				t.Errorf("tree hash %q is not 32 bytes of hex (%v)", info.TreeHash, err)
			}
		})
	}
}

// TestServiceKeysMatchJavaScript asks a bridge holding the primary key of
// each vector set (made by the JavaScript corestore) for every named core
// of the set, and checks the key, discovery key and id JavaScript made.
// Sets named in $HYPERCORE_VECTORS run too.
func TestServiceKeysMatchJavaScript(t *testing.T) {
	paths := vectors.Paths("../testdata")
	if len(paths) == 0 {
		t.Fatal("no vector files in ../testdata")
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := vectors.Parse(path, data)
		if err != nil {
			t.Fatal(err)
		}
		byCompat := map[bool][]vectors.Case{}
		for _, c := range f.Corestore.Cases {
			byCompat[c.Compat] = append(byCompat[c.Compat], c)
		}
		for compat, cases := range byCompat {
			t.Run(fmt.Sprintf("%s/compat=%v", filepath.Base(path), compat), func(t *testing.T) {
				t.Parallel()
				pk, err := vectors.Hex32(f.Corestore.PrimaryKey)
				if err != nil {
					t.Fatalf("primaryKey: %v", err)
				}
				cfg := testConfig(t)
				cfg.Corestore.Compat = compat
				if err := os.WriteFile(filepath.Join(cfg.DataDir, corestore.PrimaryKeyFile), pk[:], 0o600); err != nil {
					t.Fatal(err)
				}
				a := newAPI(t, startBridge(t, cfg), "test")
				for _, c := range cases {
					req := map[string]any{"name": c.Name}
					if len(c.NamespacePath) > 0 {
						req["namespace"] = c.NamespacePath
					}
					body, _ := json.Marshal(req)
					got := a.get(string(body))
					want := Info{Key: c.Key, DiscoveryKey: c.DiscoveryKey, ID: c.ID}
					if diff := cmp.Diff(want, Info{Key: got.Key, DiscoveryKey: got.DiscoveryKey, ID: got.ID}); diff != "" {
						t.Errorf("%s: (-javascript +bridge):\n%s", body, diff)
					}
				}
				// The empty name derives a key pair in JavaScript but names no
				// core a bridge makes.
				for _, c := range f.Corestore.KeyPairOnly {
					body, _ := json.Marshal(map[string]any{"name": c.Name, "namespace": c.NamespacePath})
					if e := a.fail("store.test.get", body); e.Code != CodeBadRequest {
						t.Errorf("%s: code %d (%s), want 400", body, e.Code, e.Message)
					}
				}
			})
		}
	}
}

func TestServiceAppendAndRead(t *testing.T) {
	b := startBridge(t, testConfig(t))
	a := newAPI(t, b, "test")

	t.Run("json", func(t *testing.T) {
		key := a.get(`{"name": "j", "valueEncoding": "json"}`).Key
		// Stored bytes are what JavaScript's JSON.stringify writes.
		want := []string{`{"a":1}`, `2`, `"three"`, `{"four":4}`, `true`, `null`, `{"x":[1,2.5,"é"]}`}
		steps := []struct {
			data    []byte
			hdr     []string
			length  uint64
			through int // values of want stored after the step
		}{
			{[]byte(`{"a": 1}`), nil, 1, 1},
			{[]byte(`[2, "three", {"four": 4}]`), []string{HeaderBatch, BatchJSON}, 4, 4},
			{AppendFrames(nil, []byte("true"), []byte(" null ")), []string{HeaderBatch, BatchFrames}, 6, 6},
			{[]byte(" { \"x\" : [1, 2.50, \"\\u00e9\"] } "), nil, 7, 7},
		}
		var byteLength uint64
		for _, s := range steps {
			byteLength = 0
			for _, v := range want[:s.through] {
				byteLength += uint64(len(v))
			}
			got := a.append(key, s.data, s.hdr...)
			if diff := cmp.Diff(appendReply{Length: s.length, ByteLength: byteLength}, got); diff != "" {
				t.Errorf("append %q (-want +got):\n%s", s.data, diff)
			}
		}
		for i, v := range want {
			for _, req := range []string{strconv.Itoa(i), fmt.Sprintf(" %d\n", i), fmt.Sprintf(`{"index": %d}`, i)} {
				m := a.block(key, req)
				if string(m.Data) != v {
					t.Errorf("block %q = %q, want %q", req, m.Data, v)
				}
				checkBlockHeaders(t, m, uint64(i), uint64(len(want)), 0)
			}
		}
		info := a.info(key)
		if info.Length != uint64(len(want)) || info.ByteLength != byteLength || !info.Writable || info.ValueEncoding != "json" {
			t.Errorf("info %+v, want length %d, byteLength %d, writable json", info, len(want), byteLength)
		}
	})

	t.Run("binary", func(t *testing.T) {
		key := a.get(`{"name": "b", "valueEncoding": "binary"}`).Key
		want := [][]byte{{0, 1, 0xff}, []byte("[1,2]"), {}, bytes.Repeat([]byte{0xab}, 1000)}
		r := a.append(key, want[0])
		if r.Length != 1 || r.ByteLength != 3 {
			t.Errorf("append: %+v, want length 1, byteLength 3", r)
		}
		// "[1,2]" is one value of a binary core, not a batch.
		if r = a.append(key, want[1]); r.Length != 2 || r.ByteLength != 8 {
			t.Errorf("append: %+v, want length 2, byteLength 8", r)
		}
		if r = a.append(key, AppendFrames(nil, want[2:]...), HeaderBatch, BatchFrames); r.Length != 4 || r.ByteLength != 1008 {
			t.Errorf("append frames: %+v, want length 4, byteLength 1008", r)
		}
		for i, v := range want {
			m := a.block(key, strconv.Itoa(i))
			if !bytes.Equal(m.Data, v) {
				t.Errorf("block %d = %x, want %x", i, m.Data, v)
			}
			checkBlockHeaders(t, m, uint64(i), 4, 0)
		}
	})
}

// deliveredTo returns how many messages the server has delivered to the
// subscriptions on subject.
func deliveredTo(t *testing.T, b *Bridge, subject string) int64 {
	t.Helper()
	cz, err := b.Conn.Server().Connz(&server.ConnzOptions{SubscriptionsDetail: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, c := range cz.Conns {
		for _, sub := range c.SubsDetail {
			if sub.Subject == subject {
				n += sub.Msgs
			}
		}
	}
	return n
}

// waitUntil polls check until it returns nil, and fails the test with its
// last error after timeout.
func waitUntil(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		<-tick.C
	}
}

// pending is a request in flight on its own goroutine.
type pending struct {
	msg *natsgo.Msg
	err error
}

func requestAsync(nc *natsgo.Conn, m *natsgo.Msg, timeout time.Duration) <-chan pending {
	ch := make(chan pending, 1)
	go func() {
		msg, err := nc.RequestMsg(m, timeout)
		ch <- pending{msg, err}
	}()
	return ch
}

func TestServiceWaitingBlock(t *testing.T) {
	b := startBridge(t, testConfig(t))
	a := newAPI(t, b, "test")
	key := a.get(`{"name": "w", "valueEncoding": "json"}`).Key
	a.append(key, []byte(`"zero"`))

	// A wait that runs out is a 404 that says so.
	e := a.fail("core."+key+".block", []byte(`{"index": 1, "wait": true, "timeout": "20ms"}`))
	if e.Code != CodeNotFound || !strings.Contains(e.Message, "did not arrive within 20ms") {
		t.Errorf("expired wait: %d %s", e.Code, e.Message)
	}

	// A wait for block 2 is answered when the append that makes block 2
	// arrives, not before.
	blockSubject := "core." + key + ".block"
	before := deliveredTo(t, b, blockSubject)
	waiting := requestAsync(a.nc, requestMsg(blockSubject, []byte(`{"index": 2, "wait": true, "timeout": "1m"}`)), time.Minute)
	waitUntil(t, reqTimeout, func() error {
		if n := deliveredTo(t, b, blockSubject); n <= before {
			return fmt.Errorf("the bridge has not received the waiting request (%d block requests)", n)
		}
		return nil
	})
	a.append(key, []byte(`"one"`))
	select {
	case p := <-waiting:
		t.Fatalf("wait for block 2 answered while the core has 2 blocks: %v %q %v", p.err, p.msg.Data, p.msg.Header)
	default:
	}
	a.append(key, []byte(`["two", "three"]`), HeaderBatch, BatchJSON)
	select {
	case p := <-waiting:
		if p.err != nil {
			t.Fatal(p.err)
		}
		if e := ReplyError(p.msg); e != nil {
			t.Fatalf("waiting block: %d %s", e.Code, e.Message)
		}
		if string(p.msg.Data) != `"two"` {
			t.Errorf("waiting block = %s, want \"two\"", p.msg.Data)
		}
		if p.msg.Header.Get(HeaderIndex) != "2" {
			t.Errorf("waiting block index header %q", p.msg.Header.Get(HeaderIndex))
		}
	case <-time.After(reqTimeout):
		t.Fatal("waiting block not answered after the append")
	}

	// A wait for a block that exists is answered at once.
	if m := a.block(key, `{"index": 0, "wait": true}`); string(m.Data) != `"zero"` {
		t.Errorf("block 0 = %s", m.Data)
	}
}

// event is one core.<key>.appended message.
type event struct {
	Key                 string
	Index, Length, Fork string
	Value               string
}

func TestServiceAppendedEvents(t *testing.T) {
	b := startBridge(t, testConfig(t))
	a := newAPI(t, b, "test")
	j := a.get(`{"name": "events-json", "valueEncoding": "json"}`).Key
	m := a.get(`{"name": "events-msgpack", "valueEncoding": "msgpack"}`).Key

	sub, err := a.nc.SubscribeSync("core.*.appended")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.nc.Flush(); err != nil {
		t.Fatal(err)
	}

	a.append(j, []byte(`"a"`))
	a.append(m, []byte{0x01}, HeaderFormat, "msgpack")
	a.append(j, []byte(`["b", "c", "d"]`), HeaderBatch, BatchJSON)
	a.append(m, []byte(`{"k": [true]}`), HeaderFormat, "json")
	a.append(j, AppendFrames(nil, []byte(`"e"`), []byte(`"f"`)), HeaderBatch, BatchFrames)

	// Events carry each block in the encoding's default format, with the
	// index of the block and the length and fork after its append.
	want := map[string][]event{
		j: {
			{j, "0", "1", "0", `"a"`},
			{j, "1", "4", "0", `"b"`}, {j, "2", "4", "0", `"c"`}, {j, "3", "4", "0", `"d"`},
			{j, "4", "6", "0", `"e"`}, {j, "5", "6", "0", `"f"`},
		},
		m: {
			{m, "0", "1", "0", "\x01"},
			{m, "1", "2", "0", "\x81\xa1k\x91\xc3"},
		},
	}
	got := map[string][]event{}
	for range len(want[j]) + len(want[m]) {
		msg, err := sub.NextMsg(reqTimeout)
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		key := strings.TrimSuffix(strings.TrimPrefix(msg.Subject, "core."), ".appended")
		got[key] = append(got[key], event{key, msg.Header.Get(HeaderIndex), msg.Header.Get(HeaderLength), msg.Header.Get(HeaderFork), string(msg.Data)})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// And no more than one per block.
	if err := a.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if msg, err := sub.NextMsg(0); err == nil {
		t.Errorf("extra event %s %q %v", msg.Subject, msg.Data, msg.Header)
	}
}

// appendResult is what one concurrent client sent and was told.
type appendResult struct {
	values [][]byte
	reply  appendReply
	err    error
}

// appendConcurrently has clients append to key all at once, client i a
// batch of batch(i) values, and returns what each sent and heard.
func appendConcurrently(nc *natsgo.Conn, key string, clients int, batch func(i int) int) []appendResult {
	results := make([]appendResult, clients)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			r := &results[i]
			for j := range batch(i) {
				r.values = append(r.values, fmt.Appendf(nil, "%s client %d value %d", key[:8], i, j))
			}
			m := requestMsg("core."+key+".append", r.values[0])
			if len(r.values) > 1 {
				m = requestMsg("core."+key+".append", AppendFrames(nil, r.values...), HeaderBatch, BatchFrames)
			}
			<-start
			msg, err := nc.RequestMsg(m, reqTimeout)
			if err == nil {
				if e := ReplyError(msg); e != nil {
					err = e
				} else {
					err = json.Unmarshal(msg.Data, &r.reply)
				}
			}
			r.err = err
		})
	}
	close(start)
	wg.Wait()
	return results
}

// checkCommitted checks that the appends in results landed where their
// replies say, without overlapping, and cover the core from 0 with no gap.
func checkCommitted(t *testing.T, a *api, key string, results []appendResult) {
	t.Helper()
	var total uint64
	for _, r := range results {
		total += uint64(len(r.values))
	}
	owner := make([]int, total)
	for i := range owner {
		owner[i] = -1
	}
	for i, r := range results {
		if r.err != nil {
			t.Errorf("client %d: %v", i, r.err)
			continue
		}
		n := uint64(len(r.values))
		if r.reply.Length < n || r.reply.Length > total {
			t.Errorf("client %d sent %d values and was told length %d of %d", i, n, r.reply.Length, total)
			continue
		}
		for j := r.reply.Length - n; j < r.reply.Length; j++ {
			if owner[j] >= 0 {
				t.Errorf("clients %d and %d were both told block %d is theirs", owner[j], i, j)
			}
			owner[j] = i
		}
	}
	if t.Failed() {
		return
	}
	if info := a.info(key); info.Length != total {
		t.Errorf("core length %d, want %d", info.Length, total)
	}
	for i, r := range results {
		n := uint64(len(r.values))
		for j, v := range r.values {
			index := r.reply.Length - n + uint64(j)
			if m := a.block(key, strconv.FormatUint(index, 10)); !bytes.Equal(m.Data, v) {
				t.Errorf("block %d = %q, but client %d was told it holds %q", index, m.Data, i, v)
			}
		}
	}
}

func TestServiceGroupCommit(t *testing.T) {
	b := startBridge(t, testConfig(t))
	a := newAPI(t, b, "test")

	t.Run("one value each", func(t *testing.T) {
		const clients = 64
		key := a.get(`{"name": "group-1"}`).Key
		results := appendConcurrently(a.nc, key, clients, func(int) int { return 1 })
		var lengths []uint64
		for _, r := range results {
			lengths = append(lengths, r.reply.Length)
		}
		slices.Sort(lengths)
		want := make([]uint64, clients)
		for i := range want {
			want[i] = uint64(i + 1)
		}
		if diff := cmp.Diff(want, lengths); diff != "" {
			t.Errorf("reply lengths (-want +got):\n%s", diff)
		}
		checkCommitted(t, a, key, results)
	})

	t.Run("batches", func(t *testing.T) {
		key := a.get(`{"name": "group-batches"}`).Key
		results := appendConcurrently(a.nc, key, 64, func(i int) int { return i%4 + 1 })
		checkCommitted(t, a, key, results)
	})

	t.Run("ten cores", func(t *testing.T) {
		const cores, clients = 10, 32
		keys := make([]string, cores)
		for i := range keys {
			keys[i] = a.get(fmt.Sprintf(`{"name": "group-spread-%d"}`, i)).Key
		}
		all := make([][]appendResult, cores)
		var wg sync.WaitGroup
		for i, key := range keys {
			wg.Go(func() {
				// Each core gets its own connection, as separate services would.
				all[i] = appendConcurrently(client(t, b), key, clients, func(j int) int { return j%2 + 1 })
			})
		}
		wg.Wait()
		for i, key := range keys {
			checkCommitted(t, a, key, all[i])
		}
	})
}

func TestServiceRestart(t *testing.T) {
	cfg := testConfig(t)
	b := startBridge(t, cfg)
	a := newAPI(t, b, "test")
	j := a.get(`{"name": "r-json", "valueEncoding": "json"}`)
	m := a.get(`{"name": "r-msgpack", "namespace": ["app"], "valueEncoding": "msgpack"}`)
	a.append(j.Key, []byte(`["one", "two"]`), HeaderBatch, BatchJSON)
	a.append(m.Key, []byte(`{"n": 1}`), HeaderFormat, "json")
	before := map[string]Info{j.Key: a.info(j.Key), m.Key: a.info(m.Key)}

	a.nc.Close()
	ctx := t.Context()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	// The new bridge serves the cores from storage, without a store.get.
	a = newAPI(t, startBridge(t, cfg), "test")
	for key, want := range before {
		if diff := cmp.Diff(want, a.info(key)); diff != "" {
			t.Errorf("info after restart (-before +after):\n%s", diff)
		}
	}
	if r := a.append(j.Key, []byte(`"three"`)); r.Length != 3 {
		t.Errorf("append after restart: %+v, want length 3", r)
	}
	for i, want := range []string{`"one"`, `"two"`, `"three"`} {
		if got := a.block(j.Key, strconv.Itoa(i)); string(got.Data) != want {
			t.Errorf("block %d = %s, want %s", i, got.Data, want)
		}
	}
	if r := a.append(m.Key, []byte(`[2]`), HeaderFormat, "json"); r.Length != 2 {
		t.Errorf("append after restart: %+v, want length 2", r)
	}
	if got := a.block(m.Key, "1", HeaderFormat, "json"); string(got.Data) != `[2]` {
		t.Errorf("msgpack block 1 as json = %s", got.Data)
	}
	// The same names still give the same cores.
	if got := a.get(`{"name": "r-json"}`); got.Key != j.Key || got.Length != 3 || got.ValueEncoding != "json" {
		t.Errorf("store get after restart: %+v", got)
	}
}

func TestServiceList(t *testing.T) {
	b := startBridge(t, testConfig(t))
	a := newAPI(t, b, "test")
	var list []Info
	decodeJSON(t, a.ok("store.test.list", nil).Data, &list)
	if len(list) != 0 {
		t.Errorf("new bridge lists %v", list)
	}
	var want []Info
	for _, body := range []string{
		`{"name": "l1", "valueEncoding": "json"}`,
		`{"name": "l2", "namespace": ["x"]}`,
		`{"key": "o4rqr5zc5zbpjcffewirr7ju8zw5ipcwr53hgbdz4njojad9erao"}`, // another store's core: read-only
	} {
		want = append(want, a.get(body))
	}
	a.append(want[0].Key, []byte(`[1, 2]`), HeaderBatch, BatchJSON)
	want[0] = a.info(want[0].Key)
	if want[2].Writable || want[2].Length != 0 {
		t.Errorf("a core by an unknown key: %+v, want empty and read-only", want[2])
	}
	slices.SortFunc(want, func(x, y Info) int { return strings.Compare(x.Key, y.Key) })
	decodeJSON(t, a.ok("store.test.list", nil).Data, &list)
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
}

func TestServiceMicro(t *testing.T) {
	b := startBridge(t, testConfig(t))
	a := newAPI(t, b, "test")
	for _, subj := range []string{"$SRV.PING", "$SRV.PING.corebridge"} {
		var ping micro.Ping
		decodeJSON(t, a.ok(subj, nil).Data, &ping)
		if ping.Name != ServiceName || ping.Type != micro.PingResponseType || ping.ID == "" || ping.Metadata["store"] != "test" {
			t.Errorf("%s: %+v", subj, ping)
		}
	}
	var info micro.Info
	decodeJSON(t, a.ok("$SRV.INFO.corebridge", nil).Data, &info)
	var subjects []string
	for _, ep := range info.Endpoints {
		subjects = append(subjects, ep.Subject)
	}
	slices.Sort(subjects)
	if info.Name != ServiceName || info.Type != micro.InfoResponseType || !slices.Equal(subjects, []string{"store.test.get", "store.test.list"}) {
		t.Errorf("$SRV.INFO: %+v", info)
	}
	a.get(`{"name": "counted"}`)
	var stats micro.Stats
	decodeJSON(t, a.ok("$SRV.STATS.corebridge", nil).Data, &stats)
	var requests int
	for _, ep := range stats.Endpoints {
		requests += ep.NumRequests
	}
	if stats.Name != ServiceName || requests == 0 {
		t.Errorf("$SRV.STATS: %+v", stats)
	}
}

func TestServiceMsgpack(t *testing.T) {
	b := startBridge(t, testConfig(t))
	a := newAPI(t, b, "test")
	key := a.get(`{"name": "mp", "valueEncoding": "msgpack"}`).Key

	// {"a": 1, "b": [true, null, "x"]} in msgpack, keys in order.
	packed := []byte{0x82, 0xa1, 'a', 0x01, 0xa1, 'b', 0x93, 0xc3, 0xc0, 0xa1, 'x'}
	asJSON := `{"a":1,"b":[true,null,"x"]}`

	if r := a.append(key, []byte(`{"a": 1, "b": [true, null, "x"]}`), HeaderFormat, "json"); r.Length != 1 || r.ByteLength != uint64(len(packed)) {
		t.Errorf("append json: %+v, want length 1, byteLength %d", r, len(packed))
	}
	a.append(key, packed) // msgpack is the default wire format
	a.append(key, packed, HeaderFormat, "msgpack")
	// A JSON batch carries values in the JSON wire format.
	a.append(key, []byte(`[7, "seven"]`), HeaderBatch, BatchJSON)
	a.append(key, AppendFrames(nil, []byte(`8`), []byte(`"eight"`)), HeaderBatch, BatchFrames, HeaderFormat, "json")

	for i := range 3 {
		for _, f := range []struct {
			hdr  []string
			want []byte
		}{
			{nil, packed},
			{[]string{HeaderFormat, "msgpack"}, packed},
			{[]string{HeaderFormat, "json"}, []byte(asJSON)},
		} {
			m := a.block(key, strconv.Itoa(i), f.hdr...)
			if !bytes.Equal(m.Data, f.want) {
				t.Errorf("block %d %v = %q, want %q", i, f.hdr, m.Data, f.want)
			}
			checkBlockHeaders(t, m, uint64(i), 7, 0)
		}
	}
	for i, want := range []struct{ packed, json string }{
		{"\x07", `7`}, {"\xa5seven", `"seven"`}, {"\x08", `8`}, {"\xa5eight", `"eight"`},
	} {
		if m := a.block(key, strconv.Itoa(3+i)); string(m.Data) != want.packed {
			t.Errorf("block %d = %q, want %q", 3+i, m.Data, want.packed)
		}
		if m := a.block(key, strconv.Itoa(3+i), HeaderFormat, "json"); string(m.Data) != want.json {
			t.Errorf("block %d as json = %q, want %q", 3+i, m.Data, want.json)
		}
	}
}
