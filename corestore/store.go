package corestore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/corebridge/corebridge/core"
)

// User-data keys a named core keeps in its header, as corestore 6 does, so
// the store can re-derive its key pair when it reopens the core.
const (
	UserDataName      = "corestore/name"
	UserDataNamespace = "corestore/namespace"
)

// Semantics picks how Session derives its namespace and primary key, which
// differs between corestore 6 and 7 (spec §1.5).
type Semantics int

const (
	// SessionsV6 is corestore 6: a session inherits its parent's namespace
	// and may override the primary key. This is the behaviour the
	// corestore documentation describes, and the default.
	SessionsV6 Semantics = iota
	// SessionsV7 is corestore 7: a session starts in the default namespace
	// and always derives with the root primary key.
	SessionsV7
)

// Options configure Open.
type Options struct {
	// Dir holds the primary-key file. Empty means PrimaryKey must be set
	// and nothing is written.
	Dir string
	// PrimaryKey, when set (32 bytes), is used instead of the stored one.
	PrimaryKey []byte
	// Compat makes named cores corestore 6 cores (key = public key)
	// instead of corestore 7 ones (key = manifest hash).
	Compat bool
	// Sessions selects the session semantics (default SessionsV6).
	Sessions Semantics
	// OnCore is called once for every core the store loads, after it is
	// open, with the store's own session of it: the replicator's hook. The
	// session stays open until the store closes; the callee must not
	// close it. OnCore must not block.
	OnCore func(*core.Core)
	// BlockCache, when set, sits in front of the storage of every core the
	// store opens, so block reads it can answer never reach the backend.
	// One cache serves all the store's cores within one budget. Nil
	// caches nothing.
	BlockCache *core.BlockCache
}

// Store is a Corestore: it derives named cores from one primary key,
// organises them in namespaces, and hands out sessions on them. A Store
// value is a session; Namespace and Session return new ones sharing the
// same loaded cores.
//
// A Store is safe for concurrent use.
type Store struct {
	r          *root
	namespace  [32]byte
	primaryKey *[32]byte // a session's override; nil means the root's
	parent     *Store    // closed with this one unless detached
	isRoot     bool      // the session Open returned; closing it closes everything
	mu         sync.Mutex
	opened     []*core.Core // sessions handed out, closed with the store
	closed     bool
}

// root is what all sessions of a store share.
type root struct {
	backend    Backend
	primaryKey [32]byte
	compat     bool
	semantics  Semantics
	onCore     func(*core.Core)
	cache      *core.BlockCache

	mu     sync.Mutex
	cores  map[core.Key]*entry // by discovery key
	owned  map[ownedName]core.Key
	stored map[core.Key]bool // every core key with a committed header
	closed bool
}

type ownedName struct {
	namespace [32]byte
	name      string
}

// entry is a loaded core; ready is closed when the open attempt finished.
type entry struct {
	ready chan struct{}
	core  *core.Core
	err   error
}

// ErrStoreClosed is returned by calls on a closed store session.
var ErrStoreClosed = errors.New("corestore closed")

// Open opens a store over backend. It reads (or creates) the primary key and
// indexes the named cores backend already holds, so Get by name reopens them.
func Open(ctx context.Context, backend Backend, opts Options) (*Store, error) {
	var pk [32]byte
	var err error
	switch {
	case opts.Dir != "":
		pk, err = LoadPrimaryKey(opts.Dir, opts.PrimaryKey)
		if err != nil {
			return nil, fmt.Errorf("open corestore: %w", err)
		}
	case len(opts.PrimaryKey) == 32:
		copy(pk[:], opts.PrimaryKey)
	default:
		return nil, fmt.Errorf("open corestore: a directory or a 32-byte primary key is needed")
	}
	r := &root{
		backend: backend, primaryKey: pk, compat: opts.Compat, semantics: opts.Sessions,
		onCore: opts.OnCore, cache: opts.BlockCache, cores: map[core.Key]*entry{}, owned: map[ownedName]core.Key{}, stored: map[core.Key]bool{},
	}
	if err := r.indexOwned(ctx); err != nil {
		return nil, fmt.Errorf("open corestore: %w", err)
	}
	return &Store{r: r, isRoot: true}, nil
}

// indexOwned reads the header of every stored core and remembers the names
// of the ones this primary key derives.
func (r *root) indexOwned(ctx context.Context) error {
	dks, err := r.backend.ListCores(ctx)
	if err != nil {
		return fmt.Errorf("list cores: %w", err)
	}
	for _, dk := range dks {
		st, err := r.backend.OpenCore(ctx, dk)
		if err != nil {
			return fmt.Errorf("open core %x: %w", dk, err)
		}
		h, err := st.ReadHeader(ctx)
		st.Close()
		if err != nil {
			return fmt.Errorf("read core %x: %w", dk, err)
		}
		if h != nil {
			r.stored[h.Key] = true
		}
		if n, ok := nameOf(h); ok && r.derives(n, h.Key) {
			r.owned[n] = h.Key
		}
	}
	return nil
}

// nameOf returns the corestore name kept in a header.
func nameOf(h *core.Header) (ownedName, bool) {
	if h == nil {
		return ownedName{}, false
	}
	name, ok := h.UserData[UserDataName]
	ns := h.UserData[UserDataNamespace]
	if !ok || len(ns) != 32 {
		return ownedName{}, false
	}
	var n ownedName
	n.name = string(name)
	copy(n.namespace[:], ns)
	return n, true
}

// derives reports whether the root primary key derives key for n, in
// either key mode.
func (r *root) derives(n ownedName, key core.Key) bool {
	_, ok := r.keyPairFor(r.primaryKey, n, key)
	return ok
}

// keyPairFor returns the key pair of n under pk if it makes key.
func (r *root) keyPairFor(pk [32]byte, n ownedName, key core.Key) (core.KeyPair, bool) {
	kp := DeriveKeyPair(pk, n.namespace, []byte(n.name))
	if sameKey(kp, key[:]) || core.DefaultManifest(1, kp.PublicKey).Hash() == key || core.DefaultManifest(0, kp.PublicKey).Hash() == key {
		return kp, true
	}
	return core.KeyPair{}, false
}

// PrimaryKey returns the key this session derives with. It is secret: never
// log it.
func (s *Store) PrimaryKey() [32]byte {
	if s.primaryKey != nil {
		return *s.primaryKey
	}
	return s.r.primaryKey
}

// NamespaceKey returns this session's 32-byte namespace.
func (s *Store) NamespaceKey() [32]byte { return s.namespace }

// Compat reports whether new named cores use corestore 6 keys.
func (s *Store) Compat() bool { return s.r.compat }

// Namespace returns a session in the child namespace name. As in corestore,
// the child derives with the root primary key even when s overrides it.
func (s *Store) Namespace(name string) *Store { return s.NamespaceBytes([]byte(name)) }

// NamespaceBytes is Namespace with a name given as bytes.
func (s *Store) NamespaceBytes(name []byte) *Store {
	return &Store{r: s.r, namespace: ChildNamespace(s.namespace, name)}
}

// SessionOptions configure Session, after corestore 6's
// session({primaryKey, namespace, detach}).
type SessionOptions struct {
	// PrimaryKey, when set, derives this session's named cores with it
	// (corestore 6 only; corestore 7 ignores it).
	PrimaryKey *[32]byte
	// Namespace, when set, is the session's raw 32-byte namespace.
	Namespace *[32]byte
	// DefaultNamespace resets the namespace (session({namespace: null})).
	DefaultNamespace bool
	// Attach closes s when the new session closes (detach: false).
	Attach bool
}

// Session returns a new session on the same store.
func (s *Store) Session(opts SessionOptions) *Store {
	n := &Store{r: s.r}
	if s.r.semantics == SessionsV6 {
		n.namespace = s.namespace
		n.primaryKey = opts.PrimaryKey
	}
	if opts.DefaultNamespace {
		n.namespace = DefaultNamespace
	}
	if opts.Namespace != nil {
		n.namespace = *opts.Namespace
	}
	if opts.Attach {
		n.parent = s
	}
	return n
}

// CreateKeyPair returns the key pair this session derives for name.
func (s *Store) CreateKeyPair(name string) core.KeyPair {
	return DeriveKeyPair(s.PrimaryKey(), s.namespace, []byte(name))
}

// Close closes the sessions this store session handed out, and its parent
// when it was made with Attach. Closing the root session closes every
// loaded core and the backend.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	opened := s.opened
	s.opened = nil
	s.mu.Unlock()
	var errs []error
	for _, c := range opened {
		errs = append(errs, c.Close())
	}
	if s.parent != nil {
		errs = append(errs, s.parent.Close())
	}
	if s.isRoot {
		errs = append(errs, s.r.close())
	}
	return errors.Join(errs...)
}

func (r *root) close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	cores := r.cores
	r.cores = nil
	r.mu.Unlock()
	var errs []error
	for _, e := range cores {
		<-e.ready
		if e.core != nil {
			errs = append(errs, e.core.Close())
		}
	}
	errs = append(errs, r.backend.Close())
	return errors.Join(errs...)
}
