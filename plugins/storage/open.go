package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-plugin"

	"github.com/corebridge/corebridge/plugins"
)

// Spec says which storage backend the host uses and how it runs.
type Spec struct {
	// Name is a builtin of Builtins ("bolt", "memory") or the name of an
	// external plugin, the executable corebridge-storage-<name> in
	// PluginDir.
	Name string
	// InProcess runs the builtin inside the host instead of as a plugin
	// process of the bridge binary.
	InProcess bool
	// Config is handed to the backend; a plugin process gets it through
	// its environment (EnvDir).
	Config Config
	// Builtins are the backends compiled into the bridge.
	Builtins *Registry
	// PluginDir is where external plugins are found.
	PluginDir string
	// Command, when set, starts the plugin process instead of the command
	// Name implies; tests use it to run their own binary as the plugin.
	Command *plugins.Command
}

// Open returns the Store spec names: a builtin running inside the host when
// spec.InProcess is set, and otherwise a plugin process, supervised and
// restarted when it dies, that lives until the Store is closed. ctx bounds
// building the backend or starting the process. logger receives the
// backend's logs, and for a process its stderr and restart notices.
func Open(ctx context.Context, spec Spec, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if spec.Config.Dir != "" {
		dir, err := filepath.Abs(spec.Config.Dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", display(spec.Name), err)
		}
		spec.Config.Dir = dir
	}
	var builtin Builtin
	isBuiltin := false
	if spec.Builtins != nil {
		builtin, isBuiltin = spec.Builtins.Lookup(spec.Name)
	}
	if spec.InProcess {
		if !isBuiltin {
			return nil, fmt.Errorf("%s: in_process needs a builtin (builtins: %v): %w", display(spec.Name), registryNames(spec.Builtins), plugins.ErrNotFound)
		}
		b, err := builtin.New(ctx, spec.Config, logger)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", display(spec.Name), err)
		}
		return NewStore(spec.Name, b), nil
	}

	var cmd plugins.Command
	switch {
	case spec.Command != nil:
		cmd = *spec.Command
		cmd.Env = append([]string(nil), cmd.Env...)
	case isBuiltin:
		cmd = plugins.BuiltinCommand(plugins.KindStorage, spec.Name)
	default:
		var err error
		if cmd, err = plugins.ExternalCommand(spec.PluginDir, plugins.KindStorage, spec.Name); err != nil {
			return nil, fmt.Errorf("%w (builtins: %v)", err, registryNames(spec.Builtins))
		}
	}
	cmd.Env = append(cmd.Env, EnvDir+"="+spec.Config.Dir)
	proc, err := plugins.Start[Backend](ctx, cmd, &Plugin{}, logger)
	if err != nil {
		return nil, err
	}
	return newProcessStore(spec.Name, proc), nil
}

// display names a storage backend in errors, as plugins.Command does.
func display(name string) string {
	return plugins.Command{Kind: plugins.KindStorage, Name: name}.String()
}

func registryNames(r *Registry) []string {
	if r == nil {
		return nil
	}
	return r.Names()
}

// process is the supervised plugin process behind a Store:
// *plugins.Process[Backend].
type process interface {
	Get(ctx context.Context) (Backend, error)
	Wrap(err error) error
	Pid() int
	Close() error
}

// newProcessStore returns a Store whose backend is the one proc serves.
func newProcessStore(name string, proc process) *Store {
	return &Store{
		name:    name,
		backend: proc.Get,
		wrap:    proc.Wrap,
		pid:     proc.Pid,
		release: func(ctx context.Context) error {
			var err error
			if b, gerr := proc.Get(ctx); gerr == nil {
				// Close the backend before the process goes, so that it
				// lets go of its files in order.
				err = b.Close(ctx)
			}
			proc.Close()
			if errors.Is(err, ErrUnavailable) {
				// Gone already; what it committed is durable.
				return nil
			}
			return proc.Wrap(err)
		},
	}
}

// Serve is the main of a storage plugin process serving the builtin named
// name: it builds the backend from this process's environment (EnvDir),
// serves it until the host stops the process, and then closes it. The bridge
// calls it for `bridge plugin serve storage <name>`; logger should write to
// stderr (plugins.NewPluginLogger). Nothing may write to stdout before it.
// It fails at once, wrapping plugins.ErrNotFound, when there is no such
// builtin.
func Serve(ctx context.Context, reg *Registry, name string, logger *slog.Logger) error {
	builtin, ok := reg.Lookup(name)
	if !ok {
		return fmt.Errorf("%s: no such builtin (builtins: %v): %w", display(name), reg.Names(), plugins.ErrNotFound)
	}
	b, err := builtin.New(ctx, ConfigFromEnv(), logger)
	if err != nil {
		return fmt.Errorf("%s: %w", display(name), err)
	}
	return ServeBackend(ctx, b)
}

// ServeBackend serves b from a plugin process until the host stops the
// process, then closes b. An external storage plugin's main calls it.
func ServeBackend(ctx context.Context, b Backend) error {
	plugins.Serve(plugin.PluginSet{PluginName: &Plugin{Impl: b}})
	return b.Close(ctx)
}

// ConfigFromEnv returns the Config the host passed to this plugin process.
func ConfigFromEnv() Config {
	return Config{Dir: os.Getenv(EnvDir)}
}
