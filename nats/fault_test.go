package nats

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Faults under a running bridge: plugin processes killed under load, the
// NATS server restarted under the bridge, a bridge stopped while NATS is
// unreachable, a bridge restarted while clients ask it. The crash tests
// with SIGKILL of whole bridge processes are in ../crashtest.

// eventually calls f until it returns nil, polling, for at most timeout,
// and fails the test with f's last error otherwise.
func eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		<-tick.C
	}
}

// TestShutdownWithNATSUnreachable stops a bridge whose NATS is gone: the
// stop is clean (nothing is lost, there is nothing to drain) and quick.
func TestShutdownWithNATSUnreachable(t *testing.T) {
	srv := runServer(t, &server.Options{JetStream: true})
	b := startBridge(t, externalConfig(t, srv, "orphan"))
	nc := client(t, b)
	w := getInfo(t, nc, "orphan", `{"name":"c","valueEncoding":"json"}`)
	appendN(t, nc, w.Key, 0, 3)

	srv.Shutdown()
	srv.WaitForShutdown()
	eventually(t, 10*time.Second, "the bridge to notice NATS is gone", func() error {
		if !b.Conn.NATS().IsReconnecting() {
			return fmt.Errorf("connection status %v", b.Conn.NATS().Status())
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with NATS unreachable: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Shutdown took %s", d)
	}
}
