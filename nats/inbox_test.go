package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/corebridge/corebridge/core"
)

// servedCore returns what the bridge serves for a core key in hex.
func servedCore(t *testing.T, b *Bridge, key string) *served {
	t.Helper()
	k, err := core.ParseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	b.Service.mu.Lock()
	defer b.Service.mu.Unlock()
	sv := b.Service.cores[k]
	if sv == nil {
		t.Fatalf("core %s is not served", key)
	}
	return sv
}

// An idle open core costs no goroutine: its subscriptions share the
// service's inboxes, its replication publisher runs only while it has
// something to publish, and nothing else waits for it to close. Before,
// each core had five, then one.
func TestServiceGoroutinesPerCore(t *testing.T) {
	b := startBridge(t, testConfig(t))
	a := newAPI(t, b, "test")
	a.get(`{"name": "warm-up"}`)
	idle(t, b.Replication)
	before := runtime.NumGoroutine()
	const cores = 200
	for i := range cores {
		a.get(fmt.Sprintf(`{"name": "core-%d"}`, i))
	}
	// Each new core's publisher reads the stream once and then ends.
	idle(t, b.Replication)
	// Store requests run on goroutines that end just after they answer:
	// the slack covers those, not anything per core.
	const slack = 20
	if got := runtime.NumGoroutine() - before; got > slack {
		t.Errorf("opening %d cores left %d goroutines, want none per core (+%d)", cores, got, slack)
	}
}

// Appends sent one after the other on one connection are stored in that
// order, for every core, also when many cores share an inbox.
func TestServiceAppendOrderThroughInboxes(t *testing.T) {
	b := startBridge(t, testConfig(t))
	a := newAPI(t, b, "test")
	const cores, perCore = 8, 200
	keys := make([]string, cores)
	for i := range keys {
		keys[i] = a.get(fmt.Sprintf(`{"name": "order-%d"}`, i)).Key
	}
	replies := make(chan *natsgo.Msg, cores*perCore)
	inbox := natsgo.NewInbox()
	sub, err := a.nc.ChanSubscribe(inbox, replies)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	for j := range perCore {
		for _, key := range keys {
			if err := a.nc.PublishRequest("core."+key+".append", inbox, []byte(strconv.Itoa(j))); err != nil {
				t.Fatal(err)
			}
		}
	}
	timeout := time.After(reqTimeout)
	for range cores * perCore {
		select {
		case m := <-replies:
			if e := ReplyError(m); e != nil {
				t.Fatalf("append: error %d: %s", e.Code, e.Message)
			}
		case <-timeout:
			t.Fatal("appends not all answered")
		}
	}
	for _, key := range keys {
		for j := range perCore {
			if got := string(a.block(key, fmt.Sprintf(`{"index": %d}`, j)).Data); got != strconv.Itoa(j) {
				t.Fatalf("core %s block %d is %q, want %q: appends were reordered", key[:8], j, got, strconv.Itoa(j))
			}
		}
	}
}

// slowConsumerLog signals every "nats async error" record that carries
// nats.go's slow consumer error.
type slowConsumerLog struct {
	slog.Handler
	seen chan string // the subscription's subject
}

func (h slowConsumerLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "nats async error" {
		var subj string
		var slow bool
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "subject":
				subj = a.Value.String()
			case "error":
				err, _ := a.Value.Any().(error)
				slow = errors.Is(err, natsgo.ErrSlowConsumer)
			}
			return true
		})
		if slow {
			select {
			case h.seen <- subj:
			default:
			}
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h slowConsumerLog) WithAttrs(as []slog.Attr) slog.Handler {
	return slowConsumerLog{h.Handler.WithAttrs(as), h.seen}
}

func (h slowConsumerLog) WithGroup(name string) slog.Handler {
	return slowConsumerLog{h.Handler.WithGroup(name), h.seen}
}

// A request that finds its inbox full is dropped, and the drop is counted
// on the core's subscription and logged with the core's subject: nothing
// is lost silently. The rest is answered once the inbox drains.
func TestServiceFullInboxReportsDrops(t *testing.T) {
	defer func(n int) { inboxSize = n }(inboxSize)
	inboxSize = 8
	seen := make(chan string, 16)
	cfg := testConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := StartBridge(ctx, cfg, BridgeOptions{
		Encodings: builtinEncodings(), Storage: builtinStorage(), PluginCommand: testPluginCommand,
		Logger: slog.New(slowConsumerLog{testLogger(t).Handler(), seen}),
	})
	if err != nil {
		t.Fatalf("StartBridge: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Errorf("bridge shutdown: %v", err)
		}
	})
	a := newAPI(t, b, "test")
	key := a.get(`{"name": "flooded"}`).Key
	sv := servedCore(t, b, key)
	// A core on another inbox, to learn when the bridge has read the flood.
	var other string
	for i := 0; other == ""; i++ {
		k := a.get(fmt.Sprintf(`{"name": "other-%d"}`, i)).Key
		if b.Service.inboxOf(servedCore(t, b, k).core.Key()) != b.Service.inboxOf(sv.core.Key()) {
			other = k
		}
	}

	// Holding the appender's lock stalls the inbox's drainer at the first
	// append it takes; the inbox then fills and the rest is dropped.
	sv.app.mu.Lock()
	locked := true
	defer func() {
		if locked {
			sv.app.mu.Unlock()
		}
	}()
	const sent = 50
	replies := sendAppends(t, a.nc, key, sent)
	// NATS delivers a connection's messages in order, so once the other
	// core answers, the bridge has taken or dropped every append.
	a.info(other)
	delivered := inboxSize + 1 // the drainer holds one, the inbox the rest
	dropped, err := sv.subs[0].Dropped()
	if err != nil {
		t.Fatal(err)
	}
	if dropped != sent-delivered {
		t.Errorf("append subscription dropped %d messages, want %d", dropped, sent-delivered)
	}
	select {
	case subj := <-seen:
		if want := "core." + key + ".append"; subj != want {
			t.Errorf("slow consumer logged for %q, want %q", subj, want)
		}
	case <-time.After(reqTimeout):
		t.Fatal("the drop was not logged")
	}

	sv.app.mu.Unlock()
	locked = false
	timeout := time.After(reqTimeout)
	for range delivered {
		select {
		case m := <-replies:
			if e := ReplyError(m); e != nil {
				t.Fatalf("append: error %d: %s", e.Code, e.Message)
			}
		case <-timeout:
			t.Fatal("the appends the inbox held were not all answered")
		}
	}
	if got := a.info(key).Length; got != uint64(delivered) {
		t.Errorf("core length %d, want %d", got, delivered)
	}
}

// sendAppends publishes n appends of the values 0 to n-1 to core key
// without waiting, and returns the channel their replies arrive on.
func sendAppends(t *testing.T, nc *natsgo.Conn, key string, n int) <-chan *natsgo.Msg {
	t.Helper()
	replies := make(chan *natsgo.Msg, n)
	inbox := natsgo.NewInbox()
	sub, err := nc.ChanSubscribe(inbox, replies)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
	for i := range n {
		if err := nc.PublishRequest("core."+key+".append", inbox, []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	return replies
}
