package storage

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/corestore"
	"github.com/corebridge/corebridge/plugins"
)

// Store is the host's side of a storage backend: the corestore.Backend a
// corestore.Store consumes, handing out one core.Storage per core. The
// backend behind it runs inside the host or in a supervised plugin process
// (see Open); either way a Store makes one backend call per read or commit.
//
// Errors name the storage and the operation and keep the sentinels:
// errors.Is(err, ErrClosed) holds whichever side the error came from.
type Store struct {
	name    string
	backend func(ctx context.Context) (Backend, error)
	wrap    func(error) error
	release func(ctx context.Context) error
	pid     func() int

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var _ corestore.Backend = (*Store)(nil)

// closeTimeout bounds how long Close waits for the backend to close.
const closeTimeout = 30 * time.Second

// NewStore returns a Store over b, a backend running inside the host, named
// name in errors (`storage plugin "bolt": ...`, as for a plugin process).
// Closing the Store closes b.
func NewStore(name string, b Backend) *Store {
	prefix := plugins.Command{Kind: plugins.KindStorage, Name: name}.String()
	return &Store{
		name:    name,
		backend: func(context.Context) (Backend, error) { return b, nil },
		wrap:    func(err error) error { return fmt.Errorf("%s: %w", prefix, err) },
		release: b.Close,
	}
}

// Name returns the storage's name.
func (s *Store) Name() string { return s.name }

// Pid returns the pid of the plugin process serving the Store, 0 for a
// backend inside the host or while the process is being restarted.
func (s *Store) Pid() int {
	if s.pid == nil {
		return 0
	}
	return s.pid()
}

// OpenCore implements corestore.Backend. It does not reach the backend:
// a core that was never written reads as empty.
func (s *Store) OpenCore(ctx context.Context, dk [32]byte) (core.Storage, error) {
	if s.closed.Load() {
		return nil, s.fail("open core", &dk, ErrClosed)
	}
	return &coreStorage{s: s, dk: dk}, nil
}

// ListCores implements corestore.Backend.
func (s *Store) ListCores(ctx context.Context) ([][32]byte, error) {
	b, err := s.get(ctx)
	if err != nil {
		return nil, s.fail("list cores", nil, err)
	}
	dks, err := b.List(ctx)
	if err != nil {
		return nil, s.fail("list cores", nil, err)
	}
	return dks, nil
}

// DeleteCore implements corestore.Backend.
func (s *Store) DeleteCore(ctx context.Context, dk [32]byte) error {
	b, err := s.get(ctx)
	if err == nil {
		err = b.Delete(ctx, dk)
	}
	if err != nil {
		return s.fail("delete core", &dk, err)
	}
	return nil
}

// Close implements corestore.Backend: it closes the backend and, for a
// plugin process, stops the process. Later calls fail with ErrClosed;
// closing again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if err := s.release(ctx); err != nil {
			s.closeErr = s.fail("close", nil, err)
		}
	})
	return s.closeErr
}

// get returns the live backend, or ErrClosed once the Store is closed.
func (s *Store) get(ctx context.Context) (Backend, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	return s.backend(ctx)
}

// fail names the storage, the operation and the core in err.
func (s *Store) fail(op string, dk *[32]byte, err error) error {
	if dk != nil {
		return s.wrap(fmt.Errorf("%s %x: %w", op, dk[:8], err))
	}
	return s.wrap(fmt.Errorf("%s: %w", op, err))
}

// coreStorage is the core.Storage of one core in a Store.
type coreStorage struct {
	s      *Store
	dk     [32]byte
	closed atomic.Bool
}

var _ core.Storage = (*coreStorage)(nil)

func (c *coreStorage) backend(ctx context.Context) (Backend, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	return c.s.get(ctx)
}

func (c *coreStorage) ReadHeader(ctx context.Context) (*core.Header, error) {
	b, err := c.backend(ctx)
	if err != nil {
		return nil, c.s.fail("read header", &c.dk, err)
	}
	h, err := b.ReadHeader(ctx, c.dk)
	if err != nil {
		return nil, c.s.fail("read header", &c.dk, err)
	}
	return h, nil
}

func (c *coreStorage) ReadBlocks(ctx context.Context, start, end uint64) ([]core.Block, error) {
	b, err := c.backend(ctx)
	if err != nil {
		return nil, c.s.fail("read blocks", &c.dk, err)
	}
	blocks, err := b.ReadBlocks(ctx, c.dk, start, end)
	if err != nil {
		return nil, c.s.fail("read blocks", &c.dk, err)
	}
	return blocks, nil
}

func (c *coreStorage) ReadNodes(ctx context.Context, indexes []uint64) ([]core.Node, error) {
	b, err := c.backend(ctx)
	if err != nil {
		return nil, c.s.fail("read nodes", &c.dk, err)
	}
	nodes, err := b.ReadNodes(ctx, c.dk, indexes)
	if err != nil {
		return nil, c.s.fail("read nodes", &c.dk, err)
	}
	return nodes, nil
}

func (c *coreStorage) Commit(ctx context.Context, batch *core.Batch) error {
	b, err := c.backend(ctx)
	if err == nil {
		err = b.Commit(ctx, c.dk, batch)
	}
	if err != nil {
		return c.s.fail("commit", &c.dk, err)
	}
	return nil
}

// Close marks the handle closed; the backend and other handles of the same
// core are unaffected.
func (c *coreStorage) Close() error {
	c.closed.Store(true)
	return nil
}
