package encodings

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"sync/atomic"

	"github.com/corebridge/corebridge/plugins"
)

// Registry is an immutable set of builtin encodings, by name. cmd/bridge
// builds one with Builtins and passes it to whatever opens encodings; there
// is no global registry.
type Registry struct {
	builtins map[string]func() Encoding
}

// NewRegistry returns a registry of the given builtins. It copies the map.
func NewRegistry(builtins map[string]func() Encoding) Registry {
	m := make(map[string]func() Encoding, len(builtins))
	for name, f := range builtins {
		m[name] = f
	}
	return Registry{builtins: m}
}

// Builtins returns the registry of corebridge's builtin encodings: json,
// binary and msgpack.
func Builtins() Registry {
	return NewRegistry(map[string]func() Encoding{
		"json":    JSON,
		"binary":  Binary,
		"msgpack": Msgpack,
	})
}

// Lookup returns the constructor of the builtin named name.
func (r Registry) Lookup(name string) (func() Encoding, bool) {
	f, ok := r.builtins[name]
	return f, ok
}

// Names returns the names of the builtins, sorted.
func (r Registry) Names() []string {
	names := make([]string, 0, len(r.builtins))
	for name := range r.builtins {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Serve serves the builtin named name from this process until the host
// closes it, as `bridge plugin serve encoding <name>` does. It returns nil
// then, or at once an error that wraps plugins.ErrNotFound if there is no
// such builtin.
func (r Registry) Serve(name string) error {
	f, ok := r.builtins[name]
	if !ok {
		return fmt.Errorf("encoding %q: no such builtin (builtins: %v): %w", name, r.Names(), plugins.ErrNotFound)
	}
	Serve(f())
	return nil
}

// Spec says which encoding to open and how to run it.
type Spec struct {
	// Name is the encoding's name, as in a core's valueEncoding.
	Name string
	// Builtins are the encodings compiled into the bridge (Builtins()).
	// A name among them runs from the bridge binary, or in the host with
	// InProcess; any other name is an external plugin.
	Builtins Registry
	// InProcess runs a builtin inside the host instead of in a plugin
	// process of its own.
	InProcess bool
	// Dir is the plugin directory, where an encoding that is not a
	// builtin is found as corebridge-encoding-<name>.
	Dir string
	// Command, when set, is the plugin process to run, whatever Name and
	// Dir say. Tests use it to run the test binary as the plugin.
	Command *plugins.Command
}

// Open opens the encoding spec describes: a builtin inside the host when
// spec.InProcess is set, and otherwise a supervised plugin process (the
// bridge binary itself for a builtin, an executable from spec.Dir for
// anything else). Either way the result behaves the same, and its errors
// name the encoding (`encoding plugin "json": ...`) and match this
// package's sentinels with errors.Is; a plugin process's errors may also
// match plugins.ErrUnavailable.
//
// ctx bounds the start of a plugin process only. logger receives the
// plugin's logs and restart notices; nil discards them. Close the returned
// io.Closer when done with the encoding; closing kills the plugin process.
func Open(ctx context.Context, spec Spec, logger *slog.Logger) (Encoding, io.Closer, error) {
	r := spec.Builtins
	if spec.InProcess && spec.Command == nil {
		f, ok := r.builtins[spec.Name]
		if !ok {
			return nil, nil, fmt.Errorf("%s: in_process needs a builtin (builtins: %v): %w",
				displayName(spec.Name), r.Names(), plugins.ErrNotFound)
		}
		e := &named{impl: f(), prefix: displayName(spec.Name)}
		return e, nopCloser{}, nil
	}
	var cmd plugins.Command
	switch {
	case spec.Command != nil:
		cmd = *spec.Command
	case slices.Contains(r.Names(), spec.Name):
		cmd = plugins.BuiltinCommand(plugins.KindEncoding, spec.Name)
	default:
		c, err := plugins.ExternalCommand(spec.Dir, plugins.KindEncoding, spec.Name)
		if err != nil {
			return nil, nil, fmt.Errorf("%w (builtins: %v)", err, r.Names())
		}
		cmd = c
	}
	proc, err := plugins.Start[Encoding](ctx, cmd, &Plugin{}, logger)
	if err != nil {
		return nil, nil, err
	}
	return &remote{proc: proc}, proc, nil
}

func displayName(name string) string {
	return plugins.Command{Kind: plugins.KindEncoding, Name: name}.String()
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// named is a builtin run inside the host, with errors named as a plugin
// process's are.
type named struct {
	impl   Encoding
	prefix string
}

func (n *named) wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", n.prefix, err)
}

func (n *named) Info(ctx context.Context) (Info, error) {
	info, err := n.impl.Info(ctx)
	return info, n.wrap(err)
}

func (n *named) Encode(ctx context.Context, wire Format, values [][]byte) ([][]byte, error) {
	out, err := n.impl.Encode(ctx, wire, values)
	return out, n.wrap(err)
}

func (n *named) Decode(ctx context.Context, want Format, blocks [][]byte) ([][]byte, error) {
	out, err := n.impl.Decode(ctx, want, blocks)
	return out, n.wrap(err)
}

// remote is an encoding served by a supervised plugin process.
type remote struct {
	proc *plugins.Process[Encoding]
	info atomic.Pointer[Info] // learned on first use
}

// verbatim reports whether f is one of the encoding's verbatim formats, in
// which Encode and Decode return their input: then no call is made. The
// encoding's Info is asked for once; until an answer comes, every call is
// made.
func (r *remote) verbatim(ctx context.Context, f Format) bool {
	in := r.info.Load()
	if in == nil {
		got, err := r.Info(ctx)
		if err != nil {
			return false
		}
		r.info.Store(&got)
		in = &got
	}
	return in.IsVerbatim(f)
}

func (r *remote) Info(ctx context.Context) (Info, error) {
	e, err := r.proc.Get(ctx)
	if err != nil {
		return Info{}, err
	}
	info, err := e.Info(ctx)
	return info, r.proc.Wrap(err)
}

// unchanged answers a call in a verbatim format without the plugin.
func (r *remote) unchanged(ctx context.Context, bs [][]byte) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, r.proc.Wrap(err)
	}
	return nonNil(bs), nil
}

func (r *remote) Encode(ctx context.Context, wire Format, values [][]byte) ([][]byte, error) {
	if r.verbatim(ctx, wire) {
		return r.unchanged(ctx, values)
	}
	e, err := r.proc.Get(ctx)
	if err != nil {
		return nil, err
	}
	out, err := e.Encode(ctx, wire, values)
	return out, r.proc.Wrap(err)
}

func (r *remote) Decode(ctx context.Context, want Format, blocks [][]byte) ([][]byte, error) {
	if r.verbatim(ctx, want) {
		return r.unchanged(ctx, blocks)
	}
	e, err := r.proc.Get(ctx)
	if err != nil {
		return nil, err
	}
	out, err := e.Decode(ctx, want, blocks)
	return out, r.proc.Wrap(err)
}

// Pid returns the pid of the plugin process behind e, or 0 when e does not
// run in a plugin process of its own (or none is running right now).
func Pid(e Encoding) int {
	if r, ok := e.(*remote); ok {
		return r.proc.Pid()
	}
	return 0
}
