package nats

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/corebridge/corebridge/config"
	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/corestore"
)

// replPair is a writer and a reader bridge on one external NATS.
type replPair struct {
	srv          *server.Server
	nc           *natsgo.Conn
	wcfg, rcfg   *config.Config
	writer, read *Bridge
}

func externalConfig(t testing.TB, srv *server.Server, name string) *config.Config {
	cfg := testConfig(t)
	cfg.Name = name
	cfg.NATS.URL = srv.ClientURL()
	return cfg
}

func newReplPair(t *testing.T) *replPair {
	p := &replPair{srv: runServer(t, &server.Options{JetStream: true})}
	p.wcfg = externalConfig(t, p.srv, "w")
	p.rcfg = externalConfig(t, p.srv, "r")
	p.writer = startBridge(t, p.wcfg)
	p.read = startBridge(t, p.rcfg)
	nc, err := natsgo.Connect(p.srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	p.nc = nc
	return p
}

// request sends a request and fails the test on any error reply.
func request(t *testing.T, nc *natsgo.Conn, subj string, body []byte, hdr ...string) *natsgo.Msg {
	t.Helper()
	m := natsgo.NewMsg(subj)
	m.Data = body
	for i := 0; i+1 < len(hdr); i += 2 {
		m.Header.Set(hdr[i], hdr[i+1])
	}
	reply, err := nc.RequestMsg(m, 20*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subj, err)
	}
	if e := ReplyError(reply); e != nil {
		t.Fatalf("%s: %v (code %d)", subj, e, e.Code)
	}
	return reply
}

func getInfo(t *testing.T, nc *natsgo.Conn, store, body string) Info {
	t.Helper()
	var info Info
	if err := json.Unmarshal(request(t, nc, "store."+store+".get", []byte(body)).Data, &info); err != nil {
		t.Fatal(err)
	}
	return info
}

// localCore returns a bridge's own session of a core.
func localCore(t *testing.T, b *Bridge, key string) *core.Core {
	t.Helper()
	k, err := core.ParseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.Store.Get(t.Context(), corestore.GetOptions{Key: &k})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitLength waits until c has at least n blocks.
func waitLength(t *testing.T, c *core.Core, n uint64) {
	t.Helper()
	if n == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := c.Get(ctx, n-1, core.Wait()); err != nil {
		t.Fatalf("waiting for length %d (have %d): %v", n, c.Length(), err)
	}
}

func appendN(t *testing.T, nc *natsgo.Conn, key string, from, n int) {
	t.Helper()
	var frames []byte
	for i := from; i < from+n; i++ {
		frames = AppendFrames(frames, fmt.Appendf(nil, `{"n":%d}`, i))
	}
	request(t, nc, "core."+key+".append", frames, HeaderBatch, BatchFrames)
}

func sameState(t *testing.T, a, b *core.Core) {
	t.Helper()
	ia, ib := a.Info(), b.Info()
	if ia.Length != ib.Length || ia.Fork != ib.Fork || ia.TreeHash != ib.TreeHash || string(ia.Signature) != string(ib.Signature) {
		t.Fatalf("states differ: writer %d/%d %x, reader %d/%d %x", ia.Length, ia.Fork, ia.TreeHash, ib.Length, ib.Fork, ib.TreeHash)
	}
}

func TestReplicationFollowsWriter(t *testing.T) {
	p := newReplPair(t)
	w := getInfo(t, p.nc, "w", `{"name":"core-1","valueEncoding":"json"}`)
	appendN(t, p.nc, w.Key, 0, 30)
	r := getInfo(t, p.nc, "r", fmt.Sprintf(`{"key":%q}`, w.Key))
	if r.Writable || r.Key != w.Key {
		t.Fatalf("reader info %+v", r)
	}
	rc := localCore(t, p.read, w.Key)
	wc := localCore(t, p.writer, w.Key)
	waitLength(t, rc, 30)
	sameState(t, wc, rc)

	// A block the reader waits for completes when it arrives.
	got := make(chan []byte, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		v, _ := rc.Get(ctx, 40, core.Wait())
		got <- v
	}()
	appendN(t, p.nc, w.Key, 30, 11)
	if v := <-got; string(v) != `{"n":40}` {
		t.Fatalf("waited block 40 = %q", v)
	}
	waitLength(t, rc, 41)
	sameState(t, wc, rc)
	// The reader learnt the core's encoding from the writer.
	if sv := p.read.Service.cores[rc.Key()]; sv == nil {
		t.Fatal("the reader does not serve the core")
	} else if name, _, err := p.read.Service.encoding(sv); name != "json" || err != nil {
		t.Errorf("the reader serves the core as %q (%v), want json", name, err)
	}
	if s := p.read.Replication.Stats(); s.Rejected != 0 || s.Applied == 0 {
		t.Errorf("reader stats %+v", s)
	}
}

func TestReplicationReaderServesWhileWriterOffline(t *testing.T) {
	p := newReplPair(t)
	w := getInfo(t, p.nc, "w", `{"name":"offline","valueEncoding":"json"}`)
	appendN(t, p.nc, w.Key, 0, 5)
	getInfo(t, p.nc, "r", fmt.Sprintf(`{"key":%q}`, w.Key))
	waitLength(t, localCore(t, p.read, w.Key), 5)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.writer.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// Only the reader is left to answer.
	m := request(t, p.nc, "core."+w.Key+".block", []byte("4"))
	if string(m.Data) != `{"n":4}` {
		t.Fatalf("block 4 from the reader = %q", m.Data)
	}
	var info Info
	json.Unmarshal(request(t, p.nc, "core."+w.Key+".info", nil).Data, &info)
	if info.Length != 5 || info.Writable {
		t.Fatalf("info from the reader = %+v", info)
	}
	// And nobody takes appends.
	if _, err := p.nc.Request("core."+w.Key+".append", []byte(`1`), 5*time.Second); err != natsgo.ErrNoResponders {
		t.Fatalf("append with the writer offline: %v, want no responders", err)
	}
}

func TestReplicationReaderRestartResumes(t *testing.T) {
	p := newReplPair(t)
	w := getInfo(t, p.nc, "w", `{"name":"restart","valueEncoding":"json"}`)
	appendN(t, p.nc, w.Key, 0, 10)
	getInfo(t, p.nc, "r", fmt.Sprintf(`{"key":%q}`, w.Key))
	waitLength(t, localCore(t, p.read, w.Key), 10)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.read.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	appendN(t, p.nc, w.Key, 10, 10)
	appendN(t, p.nc, w.Key, 20, 10)
	again := startBridge(t, p.rcfg) // same data_dir: follows the core again by itself
	rc := localCore(t, again, w.Key)
	waitLength(t, rc, 30)
	sameState(t, localCore(t, p.writer, w.Key), rc)
	if s := again.Replication.Stats(); s.Stale != 0 || s.Rejected != 0 {
		t.Errorf("after restart the reader refetched or rejected messages: %+v", s)
	}
}

// TestReplicationRejectsForgeries puts forged messages into the stream:
// each is rejected and leaves the reader as it was, and genuine messages
// after them still apply.
func TestReplicationRejectsForgeries(t *testing.T) {
	p := newReplPair(t)
	w := getInfo(t, p.nc, "w", `{"name":"target","valueEncoding":"json"}`)
	other := getInfo(t, p.nc, "w", `{"name":"other","valueEncoding":"json"}`)
	appendN(t, p.nc, w.Key, 0, 3)
	appendN(t, p.nc, other.Key, 0, 3)
	getInfo(t, p.nc, "r", fmt.Sprintf(`{"key":%q}`, w.Key))
	rc := localCore(t, p.read, w.Key)
	waitLength(t, rc, 3)
	before := rc.Info()

	js, err := jetstream.New(p.nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	stream, err := js.Stream(ctx, DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := core.ParseKey(w.Key)
	okey, _ := core.ParseKey(other.Key)
	subj := Subjects{}.Replication(core.DiscoveryKey(key))
	genuine, err := stream.GetLastMsgForSubject(ctx, subj)
	if err != nil {
		t.Fatal(err)
	}
	otherMsg, err := stream.GetLastMsgForSubject(ctx, Subjects{}.Replication(core.DiscoveryKey(okey)))
	if err != nil {
		t.Fatal(err)
	}
	cipher := newReplCipher(key)
	flipped := append([]byte(nil), genuine.Data...)
	flipped[len(flipped)/2] ^= 0x01
	forgeries := map[string][]byte{
		"bad signature": cipher.seal((&replMessage{Fork: 0, Start: 3, Values: [][]byte{[]byte(`"evil"`)}, Signature: make([]byte, 68)}).encode()),
		"flipped byte":  flipped,
		"replayed":      genuine.Data,
		"other core":    otherMsg.Data,
		"garbage":       []byte("not a replication message at all"),
		"forged fork":   cipher.seal((&replMessage{Fork: 7, Start: 0, Signature: make([]byte, 68)}).encode()),
	}
	base := p.read.Replication.Stats()
	for name, data := range forgeries {
		if _, err := js.Publish(ctx, subj, data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// A genuine append after the forgeries still arrives.
	appendN(t, p.nc, w.Key, 3, 2)
	waitLength(t, rc, 5)
	sameState(t, localCore(t, p.writer, w.Key), rc)
	got := p.read.Replication.Stats()
	if rej := got.Rejected - base.Rejected; rej < 5 {
		t.Errorf("rejected %d forged messages, want at least 5 (stats %+v)", rej, got)
	}
	if got.Stale-base.Stale < 1 {
		t.Errorf("the replayed message was not counted as stale: %+v", got)
	}
	for i := uint64(0); i < before.Length; i++ {
		v, err := rc.Get(ctx, i)
		if err != nil || string(v) != fmt.Sprintf(`{"n":%d}`, i) {
			t.Errorf("block %d after forgeries = %q, %v", i, v, err)
		}
	}
}

// TestReplicationPayloadHidesKey reads the stream as an operator would: the
// core key appears in no subject and no payload, and values are sealed.
func TestReplicationPayloadHidesKey(t *testing.T) {
	p := newReplPair(t)
	w := getInfo(t, p.nc, "w", `{"name":"secret","valueEncoding":"json"}`)
	appendN(t, p.nc, w.Key, 0, 3)
	js, _ := jetstream.New(p.nc)
	cons, err := js.OrderedConsumer(t.Context(), DefaultStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := core.ParseKey(w.Key)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	m, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	_ = ctx
	for _, hay := range [][]byte{[]byte(m.Subject()), m.Data()} {
		for _, needle := range [][]byte{key[:], []byte(w.Key), []byte(w.ID), []byte(`{"n":0}`)} {
			if containsBytes(hay, needle) {
				t.Errorf("stream message %s carries %q in the clear", m.Subject(), needle)
			}
		}
	}
}

func containsBytes(hay, needle []byte) bool {
	return len(needle) > 0 && string(hay) != "" && (len(hay) >= len(needle)) && indexBytes(hay, needle) >= 0
}

func indexBytes(hay, needle []byte) int {
	for i := 0; i+len(needle) <= len(hay); i++ {
		if string(hay[i:i+len(needle)]) == string(needle) {
			return i
		}
	}
	return -1
}

// TestReplicationReaderRestartMidStream stops a reader while it is catching
// up and starts it again: it resumes after the last message it applied and
// ends with the writer's core, fetching nothing twice.
func TestReplicationReaderRestartMidStream(t *testing.T) {
	p := newReplPair(t)
	w := getInfo(t, p.nc, "w", `{"name":"midstream","valueEncoding":"json"}`)
	const total = 3000
	for i := 0; i < total; i += 10 {
		appendN(t, p.nc, w.Key, i, 10) // 300 messages in the stream
	}
	// The follower stops after its first commit, as if its process died
	// there.
	stopped := make(chan struct{})
	p.read.Replication.onApplied = func(length uint64) bool {
		close(stopped)
		return false
	}
	getInfo(t, p.nc, "r", fmt.Sprintf(`{"key":%q}`, w.Key))
	first := localCore(t, p.read, w.Key)
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("the reader applied nothing")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.read.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if at := first.Length(); at == 0 || at >= total {
		t.Fatalf("the reader stopped at length %d, not mid-stream", at)
	}
	again := startBridge(t, p.rcfg)
	rc := localCore(t, again, w.Key)
	if rc.Length() == 0 {
		t.Fatal("the reader lost what it had applied")
	}
	waitLength(t, rc, total)
	sameState(t, localCore(t, p.writer, w.Key), rc)
	if s := again.Replication.Stats(); s.Stale != 0 || s.Rejected != 0 {
		t.Errorf("the restarted reader refetched or rejected messages: %+v", s)
	}
}

// TestStopEndsWaitingReads: a block request waiting for a block that is not
// there does not hold up shutdown; it is answered 503 at once.
func TestStopEndsWaitingReads(t *testing.T) {
	b := startBridge(t, testConfig(t))
	nc := client(t, b)
	w := getInfo(t, nc, "test", `{"name":"waiting","valueEncoding":"json"}`)
	reply := make(chan *natsgo.Msg, 1)
	sub, err := nc.SubscribeSync(natsgo.NewInbox())
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.PublishRequest("core."+w.Key+".block", sub.Subject, []byte(`{"index":3,"wait":true,"timeout":"5m"}`)); err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	go func() {
		m, _ := sub.NextMsg(time.Minute)
		reply <- m
	}()
	// The request is in: info answers after it on the same connection
	// only once the bridge has taken it (requests are dispatched in order).
	request(t, nc, "core."+w.Key+".info", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Stop waits for requests in flight up to ctx; a read still waiting for
	// its 5 minutes would make it fail.
	if err := b.Service.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	m := <-reply
	if e := ReplyError(m); m == nil || e == nil || e.Code != CodeUnavailable {
		t.Fatalf("the waiting read got %v (%v), want a 503", m, e)
	}
}
