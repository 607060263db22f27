package corestore

import (
	"context"
	"fmt"
	"sort"

	"github.com/corebridge/corebridge/core"
)

// GetOptions say which core Get returns.
type GetOptions struct {
	// Name gets the writable core derived for name in this session's
	// namespace, creating it when new.
	Name string
	// Key gets a core by key. It is writable when this store derived it.
	Key *core.Key
	// Exclusive waits, bounded by ctx, until no other exclusive session of
	// the core is open.
	Exclusive bool
	// UserData is stored in the header of a core Get creates by name.
	UserData map[string][]byte
}

// ErrNoNameOrKey is returned by Get without a name or a key.
var ErrNoNameOrKey = fmt.Errorf("corestore: a name or a key is needed")

// Get returns a new session on a core. The session is closed with this store
// session, or earlier by the caller.
func (s *Store) Get(ctx context.Context, opts GetOptions) (*core.Core, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrStoreClosed
	}
	var (
		key  core.Key
		open func(context.Context, core.Storage) (*core.Core, error)
	)
	switch {
	case opts.Name != "":
		n := ownedName{namespace: s.namespace, name: opts.Name}
		kp := DeriveKeyPair(s.PrimaryKey(), s.namespace, []byte(opts.Name))
		compat := s.r.compat
		key = s.r.keyFor(kp, compat)
		if k, ok := s.r.ownedKey(n); ok && s.primaryKey == nil {
			// A core made earlier under the other key mode keeps its key.
			key, compat = k, sameKey(kp, k[:])
		}
		ud := map[string][]byte{UserDataName: []byte(opts.Name), UserDataNamespace: append([]byte{}, s.namespace[:]...)}
		for k, v := range opts.UserData {
			if _, reserved := ud[k]; !reserved {
				ud[k] = v
			}
		}
		open = func(ctx context.Context, st core.Storage) (*core.Core, error) {
			c, err := core.Open(ctx, st, core.Options{KeyPair: &kp, Compat: compat, UserData: ud})
			if err == nil && s.primaryKey == nil {
				s.r.remember(n, c.Key())
			}
			return c, err
		}
	case opts.Key != nil:
		key = *opts.Key
		open = func(ctx context.Context, st core.Storage) (*core.Core, error) {
			o, err := s.r.optionsForKey(ctx, st, key)
			if err != nil {
				return nil, err
			}
			return core.Open(ctx, st, o)
		}
	default:
		return nil, ErrNoNameOrKey
	}
	c, err := s.r.load(ctx, key, open)
	if err != nil {
		return nil, err
	}
	var sess *core.Core
	if opts.Exclusive {
		sess, err = c.ExclusiveSession(ctx)
	} else {
		sess, err = c.Session()
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		sess.Close()
		return nil, ErrStoreClosed
	}
	s.opened = append(s.opened, sess)
	return sess, nil
}

// keyFor returns the core key of a key pair in the given mode.
func (r *root) keyFor(kp core.KeyPair, compat bool) core.Key {
	if compat {
		var k core.Key
		copy(k[:], kp.PublicKey)
		return k
	}
	return core.DefaultManifest(1, kp.PublicKey).Hash()
}

// optionsForKey opens a core by key writable when its header names a core
// this store derives, read-only otherwise.
func (r *root) optionsForKey(ctx context.Context, st core.Storage, key core.Key) (core.Options, error) {
	h, err := st.ReadHeader(ctx)
	if err != nil {
		return core.Options{}, err
	}
	if n, ok := nameOf(h); ok {
		if kp, ok := r.keyPairFor(r.primaryKey, n, key); ok {
			return core.Options{KeyPair: &kp, Compat: sameKey(kp, key[:]), ManifestV0: core.DefaultManifest(0, kp.PublicKey).Hash() == key}, nil
		}
	}
	return core.Options{Key: &key}, nil
}

// load returns the store's own session of the core with key, opening it once
// however many callers ask at the same time.
func (r *root) load(ctx context.Context, key core.Key, open func(context.Context, core.Storage) (*core.Core, error)) (*core.Core, error) {
	dk := core.DiscoveryKey(key)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrStoreClosed
	}
	if e, ok := r.cores[dk]; ok {
		r.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err != nil {
			return nil, e.err
		}
		return e.core, nil
	}
	e := &entry{ready: make(chan struct{})}
	r.cores[dk] = e
	r.mu.Unlock()

	e.core, e.err = r.openCore(ctx, dk, open)
	if e.err != nil {
		r.mu.Lock()
		if r.cores != nil {
			delete(r.cores, dk)
		}
		r.mu.Unlock()
	}
	close(e.ready)
	if e.err != nil {
		return nil, e.err
	}
	r.mu.Lock()
	r.stored[key] = true
	r.mu.Unlock()
	if r.onCore != nil {
		r.onCore(e.core)
	}
	return e.core, nil
}

func (r *root) openCore(ctx context.Context, dk core.Key, open func(context.Context, core.Storage) (*core.Core, error)) (*core.Core, error) {
	st, err := r.backend.OpenCore(ctx, dk)
	if err != nil {
		return nil, fmt.Errorf("corestore: open storage of %s: %w", dk, err)
	}
	st = r.cache.Wrap(st)
	c, err := open(ctx, st)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("corestore: %w", err)
	}
	return c, nil
}

func (r *root) ownedKey(n ownedName) (core.Key, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, ok := r.owned[n]
	return k, ok
}

func (r *root) remember(n ownedName, k core.Key) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.owned[n] = k
}

// Owned is a named core this store derives.
type Owned struct {
	Name      string
	Namespace [32]byte
	Key       core.Key
}

// Owned lists the named cores this store has created, now or in an earlier
// run, sorted by key.
func (s *Store) Owned() []Owned {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	out := make([]Owned, 0, len(s.r.owned))
	for n, k := range s.r.owned {
		out = append(out, Owned{Name: n.name, Namespace: n.namespace, Key: k})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.String() < out[j].Key.String() })
	return out
}

// Loaded returns a snapshot of every core the store has open, sorted by key.
func (s *Store) Loaded() []core.Info {
	s.r.mu.Lock()
	entries := make([]*entry, 0, len(s.r.cores))
	for _, e := range s.r.cores {
		entries = append(entries, e)
	}
	s.r.mu.Unlock()
	out := make([]core.Info, 0, len(entries))
	for _, e := range entries {
		select {
		case <-e.ready:
			if e.core != nil {
				out = append(out, e.core.Info())
			}
		default:
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.String() < out[j].Key.String() })
	return out
}

// StoredKeys returns the key of every core the backend holds, loaded or
// not, written by this store or replicated into it, sorted. A bridge uses it
// to serve everything it has after a restart.
func (s *Store) StoredKeys() []core.Key {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	out := make([]core.Key, 0, len(s.r.stored))
	for k := range s.r.stored {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
