package core

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"sync/atomic"
)

// MaxBlockSize is the largest block a core accepts, as JavaScript Hypercore
// suggests (15 MiB).
const MaxBlockSize = 15 << 20

// Options say which core Open opens.
type Options struct {
	// KeyPair makes a writable core. Its key is derived from the public key
	// (see Compat and ManifestVersion).
	KeyPair *KeyPair
	// Key opens a core read-only, by key. Ignored when KeyPair is set.
	Key *Key
	// Compat makes the core key the public key (corestore 6, hypercore 10).
	// Otherwise the key is the hash of a single-signer manifest.
	Compat bool
	// ManifestV0 makes a new writable core with a version 0 manifest
	// (corestore 6 with manifestVersion: 0) instead of version 1.
	ManifestV0 bool
	// Manifest is a reader's manifest when known in advance; otherwise it
	// arrives with the first verified update.
	Manifest *Manifest
	// UserData is stored in the header of a new core.
	UserData map[string][]byte
}

// Core is one session on a Hypercore: a signed, Merkle-verified append-only
// log. Sessions made with Session share the same state; the storage closes
// when the last session closes.
//
// A Core is safe for concurrent use. Appends and truncates are serialised;
// reads run concurrently with them.
type Core struct {
	c         *state
	closed    atomic.Bool
	exclusive bool
}

// state is what all sessions of one core share.
type state struct {
	st        Storage
	key       Key
	dkey      Key
	writeMu   sync.Mutex // serialises mutations, including their storage commit
	mu        sync.RWMutex
	scheme    *scheme // nil for a manifest-mode reader that has not seen the manifest yet
	manifest  []byte
	secret    ed25519.PrivateKey
	header    *Header // last committed header
	roots     []Node
	bytes     uint64
	changed   chan struct{} // closed and replaced at every change
	sessions  int
	done      chan struct{} // closed when the last session closes
	exclusive chan struct{} // holds a token while an exclusive session is open
	forks     []forkChange  // fork changes seen since Open, oldest first
	// AfterChange callbacks, started at the next change or when the last
	// session closes.
	afters []*afterChange
}

// forkChange records that the core moved from one fork to another keeping
// its first length blocks.
type forkChange struct{ from, to, length uint64 }

// maxForkChanges bounds the fork history a core keeps in memory.
const maxForkChanges = 1024

// Open opens the core kept in st, creating it when st is empty. A core that
// exists is checked against opts: a different key is an error.
func Open(ctx context.Context, st Storage, opts Options) (*Core, error) {
	h, err := st.ReadHeader(ctx)
	if err != nil {
		return nil, fmt.Errorf("open core: read header: %w", err)
	}
	s := &state{st: st, changed: make(chan struct{}), sessions: 1, done: make(chan struct{}), exclusive: make(chan struct{}, 1)}
	want, manifest, err := wantedKey(opts)
	if err != nil {
		return nil, err
	}
	if h == nil {
		if want == nil {
			return nil, fmt.Errorf("open core: a key pair or a key is needed to create a core")
		}
		h = &Header{Key: *want, UserData: opts.UserData}
		if manifest != nil {
			h.Manifest = manifest.Encode()
		}
		if err := st.Commit(ctx, &Batch{Header: h}); err != nil {
			return nil, fmt.Errorf("open core %s: create: %w", want, err)
		}
		h = h.Clone()
	} else if want != nil && Key(h.Key) != *want {
		return nil, fmt.Errorf("open core: storage holds core %s, not %s", Key(h.Key), *want)
	}
	s.key = h.Key
	s.dkey = DiscoveryKey(h.Key)
	s.header = h
	if err := s.loadScheme(h, opts, manifest); err != nil {
		return nil, err
	}
	if opts.KeyPair != nil && s.scheme != nil && bytes.Equal(s.scheme.publicKey, opts.KeyPair.PublicKey) {
		s.secret = opts.KeyPair.SecretKey
	}
	if err := s.loadRoots(ctx); err != nil {
		return nil, err
	}
	return &Core{c: s}, nil
}

// wantedKey returns the key opts ask for and, for a writable core outside
// compat mode, the manifest that makes it.
func wantedKey(opts Options) (*Key, *Manifest, error) {
	switch {
	case opts.KeyPair != nil:
		if len(opts.KeyPair.PublicKey) != ed25519.PublicKeySize {
			return nil, nil, fmt.Errorf("open core: public key is %d bytes", len(opts.KeyPair.PublicKey))
		}
		if opts.Compat {
			var k Key
			copy(k[:], opts.KeyPair.PublicKey)
			return &k, nil, nil
		}
		v := uint64(1)
		if opts.ManifestV0 {
			v = 0
		}
		m := DefaultManifest(v, opts.KeyPair.PublicKey)
		k := m.Hash()
		return &k, m, nil
	case opts.Key != nil:
		k := *opts.Key
		if opts.Manifest != nil && opts.Manifest.Hash() != k {
			return nil, nil, fmt.Errorf("open core %s: %w", k, ErrManifestMismatch)
		}
		return &k, opts.Manifest, nil
	}
	return nil, nil, nil
}

// loadScheme works out how this core's signatures are checked.
func (s *state) loadScheme(h *Header, opts Options, known *Manifest) error {
	m := known
	if h.Manifest != nil {
		var err error
		if m, err = DecodeManifest(h.Manifest); err != nil {
			return fmt.Errorf("open core %s: %w", s.key, err)
		}
	}
	switch {
	case m != nil:
		if m.Hash() != s.key {
			return fmt.Errorf("open core %s: %w", s.key, ErrManifestMismatch)
		}
		sc, err := manifestScheme(m, s.key)
		if err != nil {
			return fmt.Errorf("open core %s: %w", s.key, err)
		}
		s.scheme, s.manifest = &sc, m.Encode()
	case opts.Compat || (opts.KeyPair != nil && bytes.Equal(opts.KeyPair.PublicKey, s.key[:])):
		sc := compatScheme(s.key)
		s.scheme = &sc
	case opts.KeyPair == nil && opts.Manifest == nil && h.Length > 0:
		// A reader that verified signatures before without a manifest was
		// following a compat core.
		sc := compatScheme(s.key)
		s.scheme = &sc
	}
	return nil
}

// loadRoots reads the roots of the stored length and checks the stored
// signature against them, so a core never serves a tree it cannot prove.
func (s *state) loadRoots(ctx context.Context) error {
	h := s.header
	roots, err := s.readRoots(ctx, h.Length)
	if err != nil {
		return fmt.Errorf("open core %s: %w", s.key, err)
	}
	if h.Length > 0 {
		if s.scheme == nil {
			return fmt.Errorf("open core %s: %w: length %d without a way to verify it", s.key, ErrCorrupt, h.Length)
		}
		if err := s.scheme.verify(h.Signature, TreeHash(roots), h.Length, h.Fork); err != nil {
			return fmt.Errorf("open core %s: stored state: %w: %v", s.key, ErrCorrupt, err)
		}
	}
	s.roots = roots
	s.bytes = sumSizes(roots)
	return nil
}

// readRoots reads the full roots of a tree of length blocks from storage.
func (s *state) readRoots(ctx context.Context, length uint64) ([]Node, error) {
	idx := FullRoots(2 * length)
	if len(idx) == 0 {
		return nil, nil
	}
	nodes, err := s.st.ReadNodes(ctx, idx)
	if err != nil {
		return nil, fmt.Errorf("read roots of length %d: %w", length, err)
	}
	if len(nodes) != len(idx) {
		return nil, fmt.Errorf("%w: %d of %d roots of length %d are stored", ErrCorrupt, len(nodes), len(idx), length)
	}
	for i := range nodes {
		if nodes[i].Index != idx[i] {
			return nil, fmt.Errorf("%w: root %d stored as node %d", ErrCorrupt, idx[i], nodes[i].Index)
		}
	}
	return nodes, nil
}

func sumSizes(nodes []Node) (n uint64) {
	for _, r := range nodes {
		n += r.Size
	}
	return n
}

// Session returns a new session on the same core. It must be closed on its
// own; the storage closes when every session is closed.
func (c *Core) Session() (*Core, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	c.c.mu.Lock()
	defer c.c.mu.Unlock()
	if c.c.sessions == 0 {
		return nil, ErrClosed
	}
	c.c.sessions++
	return &Core{c: c.c}, nil
}

// ExclusiveSession returns a new session once no other exclusive session
// is open on this core, waiting for one to close, bounded by ctx. Closing it
// lets the next one in.
func (c *Core) ExclusiveSession(ctx context.Context) (*Core, error) {
	select {
	case c.c.exclusive <- struct{}{}:
	case <-c.c.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("exclusive session on %s: %w", c.c.key, ctx.Err())
	}
	s, err := c.Session()
	if err != nil {
		<-c.c.exclusive
		return nil, err
	}
	s.exclusive = true
	return s, nil
}

// Close closes this session. Closing the last session closes the storage
// and wakes every waiting Get with ErrClosed. Close is idempotent.
func (c *Core) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	s := c.c
	if c.exclusive {
		<-s.exclusive
	}
	s.mu.Lock()
	s.sessions--
	last := s.sessions == 0
	var fs []*afterChange
	if last {
		close(s.done)
		fs = s.takeAfters()
	}
	s.mu.Unlock()
	runAfters(fs)
	if !last {
		return nil
	}
	s.writeMu.Lock() // let a commit in progress finish first
	defer s.writeMu.Unlock()
	return s.st.Close()
}

// Key returns the core key.
func (c *Core) Key() Key { return c.c.key }

// DiscoveryKey returns the discovery key.
func (c *Core) DiscoveryKey() Key { return c.c.dkey }

// ID returns the core key in z-base-32.
func (c *Core) ID() string { return c.c.key.ID() }

// Writable reports whether this core holds its secret key.
func (c *Core) Writable() bool { return c.c.secret != nil }

// Info is a consistent snapshot of a core's state.
type Info struct {
	Key          Key
	DiscoveryKey Key
	Length       uint64
	ByteLength   uint64
	Fork         uint64
	TreeHash     [32]byte
	Signature    []byte
	Writable     bool
	Manifest     []byte // encoded; nil in compat mode or before a reader has it
	UserData     map[string][]byte
}

// Info returns a snapshot of the core's state.
func (c *Core) Info() Info {
	s := c.c
	s.mu.RLock()
	defer s.mu.RUnlock()
	return Info{
		Key: s.key, DiscoveryKey: s.dkey,
		Length: s.header.Length, ByteLength: s.bytes, Fork: s.header.Fork,
		TreeHash: TreeHash(s.roots), Signature: cloneBytes(s.header.Signature),
		Writable: s.secret != nil, Manifest: cloneBytes(s.manifest),
		UserData: s.header.Clone().UserData,
	}
}

// Length returns the number of blocks.
func (c *Core) Length() uint64 { c.c.mu.RLock(); defer c.c.mu.RUnlock(); return c.c.header.Length }

// ByteLength returns the total size of the blocks.
func (c *Core) ByteLength() uint64 { c.c.mu.RLock(); defer c.c.mu.RUnlock(); return c.c.bytes }

// Fork returns the current fork.
func (c *Core) Fork() uint64 { c.c.mu.RLock(); defer c.c.mu.RUnlock(); return c.c.header.Fork }

// Head returns the length and the fork as one consistent pair, without the
// copies and the tree hash Info makes.
func (c *Core) Head() (length, fork uint64) {
	c.c.mu.RLock()
	defer c.c.mu.RUnlock()
	return c.c.header.Length, c.c.header.Fork
}

// TreeHash returns the hash of the current roots.
func (c *Core) TreeHash() [32]byte {
	c.c.mu.RLock()
	defer c.c.mu.RUnlock()
	return TreeHash(c.c.roots)
}

// Signature returns the stored signature over the current state (nil for
// an empty core).
func (c *Core) Signature() []byte {
	c.c.mu.RLock()
	defer c.c.mu.RUnlock()
	return cloneBytes(c.c.header.Signature)
}

// Roots returns the current full roots.
func (c *Core) Roots() []Node {
	c.c.mu.RLock()
	defer c.c.mu.RUnlock()
	return append([]Node(nil), c.c.roots...)
}

// Changed returns a channel that is closed at the next change of length or
// fork. Take a fresh one after each wake-up. Closing the core does not
// close it: a waiter that must stop then selects on Closed as well. No
// goroutine is involved: a caller that stops waiting leaks nothing.
func (c *Core) Changed() <-chan struct{} {
	c.c.mu.RLock()
	defer c.c.mu.RUnlock()
	return c.c.changed
}

// Closed returns a channel closed when the core's last session closes.
func (c *Core) Closed() <-chan struct{} { return c.c.done }

// publish installs a new committed header, roots and byte length and wakes
// waiters. Callers hold writeMu.
func (s *state) publish(h *Header, roots []Node) {
	s.mu.Lock()
	if h.Fork != s.header.Fork {
		panic("core: fork change published without forkTo")
	}
	s.header = h
	s.roots = roots
	s.bytes = sumSizes(roots)
	close(s.changed)
	s.changed = make(chan struct{})
	fs := s.takeAfters()
	s.mu.Unlock()
	runAfters(fs)
}

// publishFork is publish for a change of fork that keeps the first shared
// blocks. Callers hold writeMu.
func (s *state) publishFork(h *Header, roots []Node, shared uint64) {
	s.mu.Lock()
	s.forks = append(s.forks, forkChange{from: s.header.Fork, to: h.Fork, length: shared})
	if len(s.forks) > maxForkChanges {
		s.forks = append([]forkChange(nil), s.forks[len(s.forks)-maxForkChanges:]...)
	}
	s.header = h // so publish sees no fork change
	s.mu.Unlock()
	s.publish(h, roots)
}

// SharedPrefix returns how many leading blocks the current tree has in
// common with this core's tree when it was at (fork, length), from the fork
// changes this process has seen. ok is false when that history does not
// reach back to fork (the core was reopened since, or the state is not one
// this core had); then only 0 is certain.
func (c *Core) SharedPrefix(fork, length uint64) (shared uint64, ok bool) {
	s := c.c
	s.mu.RLock()
	defer s.mu.RUnlock()
	cur := s.header
	shared = min(length, cur.Length)
	if fork == cur.Fork {
		return shared, true
	}
	for _, f := range s.forks {
		if f.from == fork {
			ok = true
		}
		if ok {
			shared = min(shared, f.length)
		}
	}
	if !ok {
		return 0, false
	}
	return shared, true
}

func (c *Core) check() error {
	if c.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Signable returns the exact bytes the current signature covers.
func (c *Core) Signable() []byte {
	s := c.c
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.scheme == nil {
		return nil
	}
	return s.scheme.signable(TreeHash(s.roots), s.header.Length, s.header.Fork)
}
