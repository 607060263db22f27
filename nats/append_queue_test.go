package nats

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A core whose commits cannot keep up queues appends only up to its limit:
// past it, each append is answered 503 at once, saying why, and what was
// queued is committed once the core moves again.
func TestAppendQueueIsBounded(t *testing.T) {
	defer func(n int) { maxQueuedValues = n }(maxQueuedValues)
	maxQueuedValues = 10
	b := startBridge(t, testConfig(t))
	a := newAPI(t, b, "test")
	key := a.get(`{"name": "flooded"}`).Key
	sv := servedCore(t, b, key)

	// Pretend a commit is under way: nothing drains the queue meanwhile.
	sv.app.mu.Lock()
	sv.app.running = true
	sv.app.mu.Unlock()

	const sent = 25
	replies := sendAppends(t, a.nc, key, sent)
	timeout := time.After(reqTimeout)
	for range sent - maxQueuedValues {
		select {
		case m := <-replies:
			e := ReplyError(m)
			if e == nil || e.Code != 503 {
				t.Fatalf("an append past the queue's limit got %q, want a 503", m.Data)
			}
			if want := fmt.Sprintf("has %d values", maxQueuedValues); !strings.Contains(e.Message, want) {
				t.Errorf("503 message %q does not say %q", e.Message, want)
			}
		case <-timeout:
			t.Fatal("appends past the queue's limit were not answered")
		}
	}

	// Let the queue drain: the ten queued appends commit, in order.
	if !b.Service.begin() {
		t.Fatal("service stopped")
	}
	go sv.app.run()
	for i := range maxQueuedValues {
		select {
		case m := <-replies:
			if e := ReplyError(m); e != nil {
				t.Fatalf("queued append: error %d: %s", e.Code, e.Message)
			}
		case <-timeout:
			t.Fatalf("only %d of the %d queued appends were answered", i, maxQueuedValues)
		}
	}
	if got := a.info(key).Length; got != uint64(maxQueuedValues) {
		t.Errorf("core length %d after the queue drained, want %d", got, maxQueuedValues)
	}
	sv.app.mu.Lock()
	n, size := sv.app.queuedValues, sv.app.queuedBytes
	sv.app.mu.Unlock()
	if n != 0 || size != 0 {
		t.Errorf("the appender counts %d values (%d bytes) queued after draining, want none", n, size)
	}
}
