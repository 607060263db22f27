package storage

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
)

// Builtin is a storage backend compiled into corebridge. The bridge runs it
// as a plugin process of its own binary or, with in_process = true, inside
// the host.
type Builtin struct {
	Name string
	// New builds the backend from cfg.
	New func(ctx context.Context, cfg Config, logger *slog.Logger) (Backend, error)
}

// BuiltinBolt is the bolt backend: one bbolt file, BoltFile in Config.Dir,
// which it creates if needed.
func BuiltinBolt() Builtin {
	return Builtin{Name: "bolt", New: func(_ context.Context, cfg Config, logger *slog.Logger) (Backend, error) {
		if cfg.Dir == "" {
			return nil, fmt.Errorf("storage: bolt needs a data directory")
		}
		if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("storage: bolt: %w", err)
		}
		return OpenBolt(filepath.Join(cfg.Dir, BoltFile), logger)
	}}
}

// BuiltinMemory is the memory backend, for tests: its data lives as long
// as the backend (for a plugin process, until the process ends).
func BuiltinMemory() Builtin {
	return Builtin{Name: "memory", New: func(context.Context, Config, *slog.Logger) (Backend, error) {
		return NewMemory(), nil
	}}
}

// Builtins returns the storage backends corebridge ships, bolt first.
func Builtins() []Builtin {
	return []Builtin{BuiltinBolt(), BuiltinMemory()}
}

// Registry is an immutable set of builtins, looked up by name. The bridge
// builds one at start-up and passes it where it is needed.
type Registry struct {
	byName map[string]Builtin
}

// NewRegistry returns a Registry of builtins, which must have distinct,
// non-empty names and a New function.
func NewRegistry(builtins ...Builtin) (*Registry, error) {
	r := &Registry{byName: make(map[string]Builtin, len(builtins))}
	for _, b := range builtins {
		if b.Name == "" || b.New == nil {
			return nil, fmt.Errorf("storage: builtin %q is incomplete", b.Name)
		}
		if _, dup := r.byName[b.Name]; dup {
			return nil, fmt.Errorf("storage: builtin %q registered twice", b.Name)
		}
		r.byName[b.Name] = b
	}
	return r, nil
}

// Lookup returns the builtin named name.
func (r *Registry) Lookup(name string) (Builtin, bool) {
	b, ok := r.byName[name]
	return b, ok
}

// Names returns the names of the builtins, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.byName))
	for n := range r.byName {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
