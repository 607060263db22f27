// Package builtin is the one list of plugins compiled into the bridge
// binary: the encodings json, binary and msgpack, and the storage backends
// bolt and memory. cmd/bridge builds its registries from it, and serves
// them as plugin processes of its own binary (bridge plugin serve).
package builtin

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/corebridge/corebridge/plugins"
	"github.com/corebridge/corebridge/plugins/encodings"
	"github.com/corebridge/corebridge/plugins/storage"
)

// Encodings returns the builtin encodings.
func Encodings() encodings.Registry { return encodings.Builtins() }

// Storage returns the builtin storage backends.
func Storage() *storage.Registry {
	r, err := storage.NewRegistry(storage.Builtins()...)
	if err != nil {
		panic("builtin storage registry: " + err.Error()) // the builtins are fixed; this is a programming error
	}
	return r
}

// Serve serves the builtin plugin kind/name from this process until the
// host closes it. It writes only to stderr.
func Serve(ctx context.Context, kind plugins.Kind, name string) error {
	switch kind {
	case plugins.KindEncoding:
		return Encodings().Serve(name)
	case plugins.KindStorage:
		return storage.Serve(ctx, Storage(), name, plugins.NewPluginLogger(os.Stderr, slog.LevelInfo))
	}
	return fmt.Errorf("unknown plugin kind %q (encoding or storage): %w", kind, plugins.ErrNotFound)
}

// TestMain is the TestMain of a test binary whose bridges run their builtin
// plugins from the test binary itself (plugins.TestCommand): started as a
// plugin it serves the builtin and exits; otherwise it runs the tests
// (m.Run), stops every plugin process and exits with their code.
func TestMain(m interface{ Run() int }) {
	if kind, name, ok := plugins.TestPlugin(); ok {
		if err := Serve(context.Background(), kind, name); err != nil {
			fmt.Fprintf(os.Stderr, "test plugin: %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	plugins.CleanupAll()
	os.Exit(code)
}
