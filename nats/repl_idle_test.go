package nats

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/corebridge/corebridge/core"
)

// The tests here drive a Replicator on its own, on cores in memory, to see
// what its publishers do between the changes: an idle writable core has no
// goroutine, and no change is lost for it.

// replHarness is a JetStream server and what a Replicator needs on it.
type replHarness struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	opts   ReplicatorOptions
}

func newReplHarness(t *testing.T) *replHarness {
	t.Helper()
	srv := runServer(t, &server.Options{JetStream: true})
	nc, err := natsgo.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	h := &replHarness{js: js, opts: ReplicatorOptions{
		JetStream: js,
		Stream: jetstream.StreamConfig{
			Name: "IDLE", Subjects: []string{Subjects{}.ReplicationFilter()},
			Storage: jetstream.MemoryStorage, AllowDirect: true,
		},
		Logger: testLogger(t),
	}}
	return h
}

// start starts a Replicator, stopped at the end of the test.
func (h *replHarness) start(t *testing.T) *Replicator {
	t.Helper()
	r, err := NewReplicator(t.Context(), h.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	h.stream = r.stream
	return r
}

// writable opens a writable core in memory, closed at the end of the test.
func writable(t *testing.T, seed int) *core.Core {
	t.Helper()
	kp := core.KeyPairFromSeed([32]byte{byte(seed), byte(seed >> 8), 0xd1})
	c, err := core.Open(t.Context(), core.NewMemoryStorage(), core.Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func appendValues(t *testing.T, c *core.Core, n int) {
	t.Helper()
	values := make([][]byte, n)
	for i := range values {
		values[i] = fmt.Appendf(nil, "v%d", i)
	}
	if _, err := c.Append(t.Context(), values); err != nil {
		t.Fatal(err)
	}
}

// streamHolds reports whether the stream's last message for c is signed at
// c's current fork and length.
func (h *replHarness) streamHolds(c *core.Core) error {
	subj := Subjects{}.Replication(c.DiscoveryKey())
	raw, err := h.stream.GetLastMsgForSubject(context.Background(), subj)
	if err != nil {
		return err
	}
	m, err := newReplCipher(c.Key()).open(raw.Data)
	if err != nil {
		return err
	}
	info := c.Info()
	if m.Fork != info.Fork || m.end() != info.Length || string(m.Signature) != string(info.Signature) {
		return fmt.Errorf("stream at fork %d length %d (signed: %v), core at fork %d length %d", m.Fork, m.end(), m.Signature != nil, info.Fork, info.Length)
	}
	return nil
}

// idle waits until no publisher of r is running.
func idle(t *testing.T, r *Replicator) {
	t.Helper()
	eventually(t, 30*time.Second, "publishers idle", func() error {
		if n := r.publishers.Load(); n != 0 {
			return fmt.Errorf("%d publishers running", n)
		}
		return nil
	})
}

// Idle writable cores cost no goroutine, and each wakes for its next
// append: what committed before Follow, and what comes after.
func TestPublisherIdleHoldsNoGoroutine(t *testing.T) {
	h := newReplHarness(t)
	r := h.start(t)
	const cores = 200
	cs := make([]*core.Core, cores)
	for i := range cs {
		cs[i] = writable(t, i)
		appendValues(t, cs[i], 1) // committed before the replicator knew it
	}
	idle(t, r)
	before := runtime.NumGoroutine()
	for _, c := range cs {
		if err := r.Follow(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cs {
		eventually(t, 30*time.Second, "first publish", func() error { return h.streamHolds(c) })
	}
	idle(t, r)
	if got := runtime.NumGoroutine() - before; got > 10 {
		t.Errorf("%d idle writable cores hold %d goroutines, want none (+10 slack)", cores, got)
	}
	for _, c := range cs {
		appendValues(t, c, 2)
	}
	for _, c := range cs {
		eventually(t, 30*time.Second, "publish after idle", func() error { return h.streamHolds(c) })
	}
	idle(t, r)
	if got := runtime.NumGoroutine() - before; got > 10 {
		t.Errorf("after a second append, %d idle writable cores hold %d goroutines, want none (+10 slack)", cores, got)
	}
}

// Appends, one at a time from several goroutines, and truncates, as fast
// as they come: the stream ends at the core's state, and its messages for
// the core form one chain, each starting where the one before it ended
// (or earlier, after a truncate): one publisher at a time, nothing missed.
func TestPublisherManyQuickChanges(t *testing.T) {
	h := newReplHarness(t)
	r := h.start(t)
	c := writable(t, 1)
	if err := r.Follow(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				if _, err := c.Append(t.Context(), [][]byte{[]byte("x")}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := c.Truncate(t.Context(), 150); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		appendValues(t, c, 1)
	}
	eventually(t, 30*time.Second, "publish of every change", func() error { return h.streamHolds(c) })
	idle(t, r)
	if err := h.streamHolds(c); err != nil {
		t.Fatalf("idle before the last change was published: %v", err)
	}

	subj := Subjects{}.Replication(c.DiscoveryKey())
	si, err := h.stream.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cipher := newReplCipher(c.Key())
	var fork, end uint64
	for seq := uint64(1); seq <= si.State.LastSeq; seq++ {
		raw, err := h.stream.GetMsg(t.Context(), seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if raw.Subject != subj {
			continue
		}
		m, err := cipher.open(raw.Data)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case m.Fork == fork && m.Start == end:
		case m.Fork > fork && m.Start <= end:
		default:
			t.Fatalf("message %d goes from %d to %d at fork %d; the one before ended at %d, fork %d", seq, m.Start, m.end(), m.Fork, end, fork)
		}
		fork, end = m.Fork, m.end()
	}
	if fork != 1 || end != 200 {
		t.Errorf("the stream's messages end at fork %d length %d, want fork 1 length 200", fork, end)
	}
}

// What a core commits while no replicator runs (a bridge down, or
// crashed) is published by the next one; a stopped replicator starts no
// publisher for its idle cores when they change.
func TestPublisherAfterRestart(t *testing.T) {
	h := newReplHarness(t)
	r := h.start(t)
	c := writable(t, 2)
	appendValues(t, c, 3)
	if err := r.Follow(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "first publish", func() error { return h.streamHolds(c) })
	idle(t, r)
	r.Stop()
	appendValues(t, c, 4) // wakes the stopped replicator's publisher
	if n := r.publishers.Load(); n != 0 {
		t.Errorf("%d publishers of a stopped replicator running", n)
	}
	if err := r.Follow(t.Context(), c); err == nil {
		t.Error("a stopped replicator follows a core")
	}

	r2 := h.start(t)
	if err := r2.Follow(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "publish after restart", func() error { return h.streamHolds(c) })
	appendValues(t, c, 1)
	eventually(t, 30*time.Second, "publish after restart and idle", func() error { return h.streamHolds(c) })
}

// Stop while publishers are busy waits for every one of them, and none is
// running once it returns.
func TestPublisherStopWhileBusy(t *testing.T) {
	h := newReplHarness(t)
	r := h.start(t)
	const cores = 20
	cs := make([]*core.Core, cores)
	for i := range cs {
		cs[i] = writable(t, 100+i)
		appendValues(t, cs[i], 1)
		if err := r.Follow(t.Context(), cs[i]); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cs {
		eventually(t, 30*time.Second, "first publish", func() error { return h.streamHolds(c) })
	}
	si, err := h.stream.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() {
			for range 1000 {
				if _, err := c.Append(ctx, [][]byte{[]byte("x")}); err != nil {
					return
				}
			}
		})
	}
	// Stop once the appends are being published, so that publishers are
	// mid-flight.
	eventually(t, 30*time.Second, "publishing under way", func() error {
		now, err := h.stream.Info(t.Context())
		if err != nil {
			return err
		}
		if now.State.Msgs < si.State.Msgs+cores {
			return fmt.Errorf("%d messages published since the appends started", now.State.Msgs-si.State.Msgs)
		}
		return nil
	})
	stopped := make(chan struct{})
	go func() {
		r.Stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("Stop did not return")
	}
	if n := r.publishers.Load(); n != 0 {
		t.Errorf("%d publishers running after Stop", n)
	}
	cancel()
	wg.Wait()
	for _, c := range cs {
		c.Close() // wakes every idle publisher's callback, which must start nothing
	}
	if n := r.publishers.Load(); n != 0 {
		t.Errorf("%d publishers running after Stop and close", n)
	}
}
