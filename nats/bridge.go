package nats

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/corebridge/corebridge/config"
	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/corestore"
	"github.com/corebridge/corebridge/plugins"
	"github.com/corebridge/corebridge/plugins/encodings"
	"github.com/corebridge/corebridge/plugins/storage"
)

// BridgeOptions are what a bridge needs besides its configuration.
type BridgeOptions struct {
	Logger *slog.Logger
	// Encodings and Storage are the builtins compiled into the binary.
	Encodings encodings.Registry
	Storage   *storage.Registry
	// PluginCommand, when set, gives the command that runs a builtin
	// plugin process; tests return their own binary. Nil runs the bridge
	// binary (plugins.BuiltinCommand).
	PluginCommand func(kind plugins.Kind, name string) *plugins.Command
	Version       string
}

// Bridge is a running bridge: NATS, the storage backend, the corestore and
// the service answering the subject API.
type Bridge struct {
	Conn        *Conn
	Store       *corestore.Store
	Service     *Service
	Replication *Replicator
	// BlockCache is the block cache in front of every core's storage
	// (corestore.block_cache); nil when disabled.
	BlockCache *core.BlockCache
	backend    *storage.Store
	encs       *encodingSet
	log        *slog.Logger
}

// replOverhead is what a replication message needs besides its values:
// headers, sealing, signature and manifest.
const replOverhead = 4096

// pluginStartTimeout bounds starting a plugin process.
const pluginStartTimeout = 30 * time.Second

// StartBridge starts everything cfg describes. On error, what was started
// is stopped again.
func StartBridge(ctx context.Context, cfg *config.Config, o BridgeOptions) (_ *Bridge, err error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bridge{log: log}
	defer func() {
		if err != nil {
			b.Shutdown(context.WithoutCancel(ctx))
		}
	}()
	subjects, err := NewSubjects(cfg.SubjectPrefix)
	if err != nil {
		return nil, err
	}
	if b.backend, err = openStorage(ctx, cfg, o, log); err != nil {
		return nil, err
	}
	b.BlockCache = core.NewBlockCache(cfg.Corestore.BlockCache)
	if b.Store, err = corestore.Open(ctx, b.backend, corestore.Options{
		Dir: cfg.DataDir, Compat: cfg.Corestore.Compat, BlockCache: b.BlockCache,
	}); err != nil {
		return nil, err
	}
	if b.Conn, err = Connect(ctx, cfg, log); err != nil {
		return nil, err
	}
	b.Replication, err = NewReplicator(ctx, ReplicatorOptions{
		JetStream: b.Conn.JetStream(), Stream: StreamConfig(cfg, subjects), Subjects: subjects,
		MaxMessage: int(b.Conn.NATS().MaxPayload()) - replOverhead, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	b.encs = &encodingSet{cfg: cfg, o: o, log: log, open: map[string]encodings.Encoding{}}
	b.Service, err = StartService(ctx, ServiceOptions{
		Conn: b.Conn.NATS(), Store: b.Store, Name: cfg.Name, Subjects: subjects,
		Encoding: b.encs.get, MaxValueSize: int(cfg.Limits.MaxValueSize),
		Replication: b.Replication, Version: o.Version, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Shutdown stops answering, then closes the corestore, the storage backend,
// the encoding plugins and NATS, in that order, bounded by ctx.
func (b *Bridge) Shutdown(ctx context.Context) error {
	var errs []error
	if b.Service != nil {
		errs = append(errs, b.Service.Stop(ctx))
	}
	if b.Replication != nil {
		b.Replication.Stop()
	}
	if b.Store != nil {
		errs = append(errs, b.Store.Close())
	} else if b.backend != nil {
		errs = append(errs, b.backend.Close())
	}
	if b.encs != nil {
		errs = append(errs, b.encs.close())
	}
	if b.Conn != nil {
		errs = append(errs, b.Conn.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// openStorage opens the configured storage backend, by default bolt in
// <data_dir>/storage, as a plugin process unless in_process is set.
func openStorage(ctx context.Context, cfg *config.Config, o BridgeOptions, log *slog.Logger) (*storage.Store, error) {
	name := cfg.Corestore.Storage
	spec := storage.Spec{
		Name: name, Builtins: o.Storage, PluginDir: cfg.Plugins.Dir,
		Config: storage.Config{Dir: filepath.Join(cfg.DataDir, "storage")},
	}
	if p, ok := cfg.Plugins.StorageBackend(name); ok {
		spec.InProcess = p.InProcess
		if p.Path != "" {
			spec.Command = &plugins.Command{Kind: plugins.KindStorage, Name: name, Path: p.Path}
		}
	}
	if _, builtin := o.Storage.Lookup(name); builtin && spec.Command == nil && o.PluginCommand != nil {
		spec.Command = o.PluginCommand(plugins.KindStorage, name)
	}
	sctx, cancel := context.WithTimeout(ctx, pluginStartTimeout)
	defer cancel()
	st, err := storage.Open(sctx, spec, log)
	if err != nil {
		return nil, fmt.Errorf("storage backend %q: %w", name, err)
	}
	return st, nil
}

// encodingSet opens each encoding once, on first use, and keeps it.
type encodingSet struct {
	cfg     *config.Config
	o       BridgeOptions
	log     *slog.Logger
	mu      sync.Mutex
	open    map[string]encodings.Encoding
	closers []io.Closer
}

func (e *encodingSet) get(name string) (encodings.Encoding, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if enc, ok := e.open[name]; ok {
		return enc, nil
	}
	spec := encodings.Spec{Name: name, Builtins: e.o.Encodings, Dir: e.cfg.Plugins.Dir}
	p, configured := e.cfg.Plugins.Encoding(name)
	if configured {
		spec.InProcess = p.InProcess
		if p.Path != "" {
			spec.Command = &plugins.Command{Kind: plugins.KindEncoding, Name: name, Path: p.Path}
		}
	}
	_, builtin := e.o.Encodings.Lookup(name)
	if builtin && spec.Command == nil && !spec.InProcess && e.o.PluginCommand != nil {
		spec.Command = e.o.PluginCommand(plugins.KindEncoding, name)
	}
	if !builtin && spec.Command == nil {
		if _, err := plugins.ExternalCommand(e.cfg.Plugins.Dir, plugins.KindEncoding, name); err != nil {
			return nil, fmt.Errorf("%w %q: not a builtin (%v) and no plugin %s in %s",
				ErrUnknownEncoding, name, e.o.Encodings.Names(), plugins.ExternalFile(plugins.KindEncoding, name), e.cfg.Plugins.Dir)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), pluginStartTimeout)
	defer cancel()
	enc, closer, err := encodings.Open(ctx, spec, e.log)
	if err != nil {
		return nil, err
	}
	e.open[name] = enc
	e.closers = append(e.closers, closer)
	return enc, nil
}

func (e *encodingSet) close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for _, c := range e.closers {
		errs = append(errs, c.Close())
	}
	e.closers, e.open = nil, map[string]encodings.Encoding{}
	return errors.Join(errs...)
}
