package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
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

// TestRestartAnswersOnlyWhenServing restarts a bridge with stored cores
// while a client keeps asking it for its list: every list it answers
// holds every stored core, and each of those cores answers info at once.
func TestRestartAnswersOnlyWhenServing(t *testing.T) {
	const cores = 8
	srv := runServer(t, &server.Options{JetStream: true})
	cfg := externalConfig(t, srv, "again")
	b := startBridge(t, cfg)
	nc, err := natsgo.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var keys []string
	for i := range cores {
		enc := []string{"json", "binary", "msgpack"}[i%3]
		keys = append(keys, getInfo(t, nc, "again", fmt.Sprintf(`{"name":"c%d","valueEncoding":%q}`, i, enc)).Key)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var (
		wg       sync.WaitGroup
		answered int
		bad      []string
	)
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			reply, err := nc.Request("store.again.list", nil, 5*time.Second)
			if errors.Is(err, natsgo.ErrNoResponders) {
				continue // not up yet
			}
			if err != nil {
				bad = append(bad, fmt.Sprintf("list: %v", err))
				return
			}
			var infos []Info
			if err := json.Unmarshal(reply.Data, &infos); err != nil {
				bad = append(bad, fmt.Sprintf("list reply %q: %v", reply.Data, err))
				return
			}
			answered++
			if len(infos) != cores {
				bad = append(bad, fmt.Sprintf("a list answered during the restart holds %d of %d cores", len(infos), cores))
				return
			}
			for _, k := range keys {
				if _, err := nc.Request("core."+k+".info", nil, 5*time.Second); err != nil {
					bad = append(bad, fmt.Sprintf("core %s is listed but its info: %v", k, err))
					return
				}
			}
		}
	})
	startBridge(t, cfg)
	// One answer after the restart at least.
	eventually(t, 10*time.Second, "a list answer", func() error {
		reply, err := nc.Request("store.again.list", nil, 5*time.Second)
		if err != nil {
			return err
		}
		var infos []Info
		return json.Unmarshal(reply.Data, &infos)
	})
	close(stop)
	wg.Wait()
	for _, b := range bad {
		t.Error(b)
	}
	t.Logf("%d lists answered while the bridge started", answered)
}
