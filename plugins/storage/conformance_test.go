package storage_test

import (
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/corebridge/corebridge/corestore"
	"github.com/corebridge/corebridge/plugins/storage"
	"github.com/corebridge/corebridge/plugins/storage/storagetest"
)

// The builtins pass the conformance suite three ways: directly, through the
// gRPC shims in this process, and as plugin processes (process_test.go).

func openBolt(t testing.TB, dir string) *storage.Bolt {
	t.Helper()
	b, err := storage.OpenBolt(filepath.Join(dir, storage.BoltFile), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// overGRPC returns a Backend that reaches impl through the plugin's gRPC
// client and server shims, connected in this process.
func overGRPC(t testing.TB, impl storage.Backend) storage.Backend {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, plugin.PluginSet{
		storage.PluginName: &storage.Plugin{Impl: impl},
	})
	// Closing the client asks the server to stop (go-plugin's controller
	// Shutdown); stopping it here as well would race with that.
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(storage.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(storage.Backend)
}

func TestMemoryDirect(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) corestore.Backend {
		return storage.NewStore("memory", storage.NewMemory())
	})
}

func TestMemoryGRPC(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) corestore.Backend {
		return storage.NewStore("memory", overGRPC(t, storage.NewMemory()))
	})
}

func TestBoltDirect(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) corestore.Backend {
		return storage.NewStore("bolt", openBolt(t, t.TempDir()))
	})
	storagetest.RunReopen(t, func(t *testing.T, dir string) corestore.Backend {
		return storage.NewStore("bolt", openBolt(t, dir))
	})
}

func TestBoltGRPC(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) corestore.Backend {
		return storage.NewStore("bolt", overGRPC(t, openBolt(t, t.TempDir())))
	})
	storagetest.RunReopen(t, func(t *testing.T, dir string) corestore.Backend {
		return storage.NewStore("bolt", overGRPC(t, openBolt(t, dir)))
	})
}
