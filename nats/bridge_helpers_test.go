package nats

import (
	"context"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/corebridge/corebridge/config"
	"github.com/corebridge/corebridge/plugins"
	"github.com/corebridge/corebridge/plugins/builtin"
	"github.com/corebridge/corebridge/plugins/encodings"
	"github.com/corebridge/corebridge/plugins/storage"
)

// TestMain serves a builtin plugin when a test bridge started this test
// binary as one (plugins.TestCommand), and runs the tests otherwise.
func TestMain(m *testing.M) { builtin.TestMain(m) }

// testPluginCommand runs builtin plugins from this test binary.
func testPluginCommand(kind plugins.Kind, name string) *plugins.Command {
	c := plugins.TestCommand(kind, name)
	return &c
}

// startBridge starts a whole bridge on cfg, with real plugin processes and
// an embedded NATS, and shuts it down when the test ends.
func startBridge(t testing.TB, cfg *config.Config) *Bridge {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := StartBridge(ctx, cfg, BridgeOptions{
		Encodings: builtinEncodings(), Storage: builtinStorage(),
		PluginCommand: testPluginCommand, Logger: testLogger(t),
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
	return b
}

// client connects a plain NATS client to a bridge's server.
func client(t testing.TB, b *Bridge) *natsgo.Conn {
	t.Helper()
	nc, err := natsgo.Connect(b.Conn.ClientURL())
	if err != nil {
		t.Fatalf("connect client: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func builtinEncodings() encodings.Registry { return builtin.Encodings() }
func builtinStorage() *storage.Registry    { return builtin.Storage() }
