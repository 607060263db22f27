package storage_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/plugins"
	"github.com/corebridge/corebridge/plugins/storage"
	"github.com/corebridge/corebridge/plugins/storage/storagetest"
)

// TestMain serves a storage plugin when plugins.TestCommand started this
// test binary as one, and runs the tests otherwise.
func TestMain(m *testing.M) {
	if kind, name, ok := plugins.TestPlugin(); ok && kind == plugins.KindStorage {
		os.Exit(servePlugin(name))
	}
	// plugin.TestPluginGRPCConn logs go-plugin's debug chatter through
	// hclog's default output; keep it out of the test output.
	hclog.DefaultOutput = io.Discard
	os.Exit(m.Run())
}

// stallCore is the core whose commits the bolt-stall test plugin never
// applies: they wait for their context to end.
var stallCore = storagetest.DK(999)

// servePlugin is the main of the test binary run as a storage plugin: the
// builtins, and bolt-stall, which is bolt with commits to stallCore stuck.
func servePlugin(name string) int {
	logger := plugins.NewPluginLogger(os.Stderr, slog.LevelInfo)
	stall := storage.Builtin{Name: "bolt-stall", New: func(ctx context.Context, cfg storage.Config, l *slog.Logger) (storage.Backend, error) {
		b, err := storage.BuiltinBolt().New(ctx, cfg, l)
		if err != nil {
			return nil, err
		}
		return stallCommits{b, l}, nil
	}}
	reg, err := storage.NewRegistry(append(storage.Builtins(), stall)...)
	if err == nil {
		err = storage.Serve(context.Background(), reg, name, logger)
	}
	if err != nil {
		logger.Error("storage test plugin", "err", err)
		return 1
	}
	return 0
}

type stallCommits struct {
	storage.Backend
	logger *slog.Logger
}

func (s stallCommits) Commit(ctx context.Context, dk [32]byte, b *core.Batch) error {
	if dk == stallCore {
		s.logger.Warn(stallMsg)
		<-ctx.Done()
		return ctx.Err()
	}
	return s.Backend.Commit(ctx, dk, b)
}

const stallMsg = "commit stalled"

// logWriter writes a test's log lines, and drops them once the test is
// over: plugin processes may still write while they are stopped.
type logWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

// testLogger logs warnings and errors in the test's log.
func testLogger(t testing.TB) *slog.Logger {
	w := &logWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
