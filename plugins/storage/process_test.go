package storage_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/corebridge/corebridge/corestore"
	"github.com/corebridge/corebridge/plugins"
	"github.com/corebridge/corebridge/plugins/storage"
	"github.com/corebridge/corebridge/plugins/storage/storagetest"
)

// openProcess opens a Store served by this test binary run as the storage
// plugin name, keeping its data in dir.
func openProcess(t testing.TB, name, dir string) *storage.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := pluginsTestCommand(name)
	s, err := storage.Open(ctx, storage.Spec{Name: name, Config: storage.Config{Dir: dir}, Command: &cmd}, testLogger(t))
	if err != nil {
		t.Fatalf("Open %s: %v", name, err)
	}
	t.Cleanup(func() { s.Close() })
	if pid := s.Pid(); pid == 0 || pid == os.Getpid() {
		t.Fatalf("store %s is served by pid %d, want a plugin process", name, pid)
	}
	return s
}

func TestMemoryProcess(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) corestore.Backend {
		return openProcess(t, "memory", t.TempDir())
	})
}

func TestBoltProcess(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) corestore.Backend {
		return openProcess(t, "bolt", t.TempDir())
	})
	storagetest.RunReopen(t, func(t *testing.T, dir string) corestore.Backend {
		return openProcess(t, "bolt", dir)
	})
}

func TestOpenInProcess(t *testing.T) {
	reg, err := storage.NewRegistry(storage.Builtins()...)
	if err != nil {
		t.Fatal(err)
	}
	storagetest.Run(t, func(t *testing.T) corestore.Backend {
		dir := filepath.Join(t.TempDir(), "not", "there", "yet")
		s, err := storage.Open(t.Context(), storage.Spec{Name: "bolt", InProcess: true, Builtins: reg, Config: storage.Config{Dir: dir}}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		if pid := s.Pid(); pid != 0 {
			t.Errorf("Pid of an in-process store = %d, want 0", pid)
		}
		return s
	})
	if _, err := storage.Open(t.Context(), storage.Spec{Name: "nope", InProcess: true, Builtins: reg}, nil); !errors.Is(err, plugins.ErrNotFound) {
		t.Errorf("Open of an unknown builtin in process: %v, want an error matching plugins.ErrNotFound", err)
	}
	if err := storage.Serve(t.Context(), reg, "nope", nil); !errors.Is(err, plugins.ErrNotFound) {
		t.Errorf("Serve of an unknown builtin: %v, want an error matching plugins.ErrNotFound", err)
	}
	if _, err := storage.Open(t.Context(), storage.Spec{Name: "nope", Builtins: reg, PluginDir: t.TempDir()}, nil); !errors.Is(err, plugins.ErrNotFound) {
		t.Errorf("Open of a missing external plugin: %v, want an error matching plugins.ErrNotFound", err)
	}
}

// pluginsTestCommand runs this test binary as the storage plugin name.
func pluginsTestCommand(name string) plugins.Command {
	return plugins.TestCommand(plugins.KindStorage, name)
}
