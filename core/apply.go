package core

import (
	"context"
	"fmt"
)

// ApplyProof verifies p against this core and stores what it proves: the
// block, the tree nodes, and for an upgrade the new length, fork and
// signature. Nothing is stored unless everything verifies. A core without
// its manifest learns it from p.Manifest, which must hash to the key.
func (c *Core) ApplyProof(ctx context.Context, p *Proof) error {
	if err := c.check(); err != nil {
		return err
	}
	s := c.c
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	h := s.header
	sc, manifest, err := s.schemeFor(p.Manifest)
	if err != nil {
		return err
	}
	var startRoots []Node
	if u := p.Upgrade; u != nil {
		if u.Start > h.Length {
			return fmt.Errorf("apply proof to %s: %w: upgrade starts at %d, past the local length %d", s.key, ErrInvalidProof, u.Start, h.Length)
		}
		if u.Start >= maxLength || u.Length >= maxLength-u.Start {
			// Before the stale check, where Start+Length would wrap.
			return fmt.Errorf("apply proof to %s: %w: upgrade %d+%d out of range", s.key, ErrInvalidProof, u.Start, u.Length)
		}
		if p.Fork < h.Fork {
			return fmt.Errorf("apply proof to %s: %w: fork %d, the core is at fork %d", s.key, ErrStaleUpdate, p.Fork, h.Fork)
		}
		if startRoots, err = s.rootsAt(ctx, u.Start); err != nil {
			return fmt.Errorf("apply proof to %s: %w", s.key, err)
		}
	} else if p.Fork != h.Fork {
		return fmt.Errorf("apply proof to %s: %w: proof is for fork %d, the core is at fork %d", s.key, ErrInvalidProof, p.Fork, h.Fork)
	}
	if p.Block != nil && p.Upgrade == nil && p.Block.Index >= h.Length {
		return fmt.Errorf("apply proof to %s: %w: block %d without an upgrade past length %d", s.key, ErrInvalidProof, p.Block.Index, h.Length)
	}
	res, err := verifyProof(sc, startRoots, s.trustedLookup(ctx), p)
	if err != nil {
		return fmt.Errorf("apply proof to %s: %w", s.key, err)
	}
	// Staleness is judged on the full length the proof signs, additional
	// nodes included, as JavaScript Hypercore does.
	if res.upgraded && p.Block == nil && p.Fork == h.Fork && res.length <= h.Length {
		return fmt.Errorf("apply proof to %s: %w: fork %d length %d", s.key, ErrStaleUpdate, p.Fork, res.length)
	}
	b := &Batch{Nodes: res.nodes}
	if res.block != nil {
		b.Blocks = []Block{*res.block}
	}
	nh, roots := h, s.roots
	if res.upgraded && (p.Fork > h.Fork || res.length > h.Length) {
		if p.Fork != h.Fork {
			drop := truncation(p.Upgrade.Start, h.Length)
			b.DropBlocksFrom, b.DropNodes = drop.DropBlocksFrom, drop.DropNodes
		}
		nh = h.Clone()
		nh.Length, nh.Fork, nh.Signature, nh.Manifest = res.length, p.Fork, cloneBytes(p.Upgrade.Signature), manifest
		b.Header = nh
		roots = res.roots
	}
	if err := s.st.Commit(ctx, b); err != nil {
		return fmt.Errorf("apply proof to %s: commit: %w", s.key, err)
	}
	s.adopt(sc, manifest)
	if nh.Fork != h.Fork {
		s.publishFork(nh, roots, p.Upgrade.Start)
	} else {
		s.publish(nh, roots)
	}
	return nil
}

// Update is a writer's signed state with the blocks that lead to it: the
// writer's core had Start blocks (under a fork whose tree this core shares
// up to Start), appended Values, and signed (Fork, Start+len(Values)).
// A truncate is an Update with no values. Replication carries Updates.
type Update struct {
	Fork      uint64
	Start     uint64
	Values    [][]byte
	Signature []byte
	Manifest  *Manifest // needed once by a reader that lacks it
	// UserData entries are stored in the header in the same atomic commit
	// (replication keeps its stream position here).
	UserData map[string][]byte
}

// ApplyUpdate verifies u against this core and stores it. The reader
// computes every tree node itself from its own tree and the values, so only
// the signature at the end needs checking: one ed25519 verification covers
// any number of blocks. Nothing is stored unless it verifies.
//
// An update this core has already applied or passed is ErrStaleUpdate; one
// that starts past the local length cannot be verified and is
// ErrInvalidProof.
func (c *Core) ApplyUpdate(ctx context.Context, u *Update) (AppendResult, error) {
	if err := c.check(); err != nil {
		return AppendResult{}, err
	}
	s := c.c
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	h := s.header
	sc, manifest, err := s.schemeFor(u.Manifest)
	if err != nil {
		return AppendResult{}, err
	}
	n := uint64(len(u.Values))
	if u.Start >= maxLength || n >= maxLength-u.Start {
		return AppendResult{}, fmt.Errorf("update %s: %w: length out of range", s.key, ErrInvalidProof)
	}
	length := u.Start + n
	if u.Fork < h.Fork || (u.Fork == h.Fork && length <= h.Length) {
		return AppendResult{}, fmt.Errorf("update %s: %w: fork %d length %d, the core is at fork %d length %d", s.key, ErrStaleUpdate, u.Fork, length, h.Fork, h.Length)
	}
	if u.Start > h.Length {
		return AppendResult{}, fmt.Errorf("update %s: %w: it starts at block %d but the core has %d", s.key, ErrInvalidProof, u.Start, h.Length)
	}
	for i, v := range u.Values {
		if len(v) > MaxBlockSize {
			return AppendResult{}, fmt.Errorf("update %s: %w: value %d is %d bytes", s.key, ErrBlockTooLarge, i, len(v))
		}
	}
	roots, err := s.rootsAt(ctx, u.Start)
	if err != nil {
		return AppendResult{}, fmt.Errorf("update %s: %w", s.key, err)
	}
	g := newGrowth(roots, u.Start)
	blocks := make([]Block, len(u.Values))
	for i, v := range u.Values {
		blocks[i] = Block{Index: u.Start + uint64(i), Value: v}
		g.add(LeafNode(u.Start+uint64(i), v))
	}
	if err := sc.verify(u.Signature, TreeHash(g.roots), length, u.Fork); err != nil {
		return AppendResult{}, fmt.Errorf("update %s: %w", s.key, err)
	}
	b := &Batch{Blocks: blocks, Nodes: g.nodes}
	if u.Fork != h.Fork || length < h.Length {
		drop := truncation(u.Start, h.Length)
		b.DropBlocksFrom, b.DropNodes = drop.DropBlocksFrom, drop.DropNodes
	}
	nh := h.Clone()
	nh.Length, nh.Fork, nh.Signature, nh.Manifest = length, u.Fork, cloneBytes(u.Signature), manifest
	if len(u.UserData) > 0 && nh.UserData == nil {
		nh.UserData = map[string][]byte{}
	}
	for k, v := range u.UserData {
		nh.UserData[k] = cloneBytes(v)
	}
	b.Header = nh
	if err := s.st.Commit(ctx, b); err != nil {
		return AppendResult{}, fmt.Errorf("update %s: commit: %w", s.key, err)
	}
	s.adopt(sc, manifest)
	if nh.Fork != h.Fork {
		s.publishFork(nh, g.roots, u.Start)
	} else {
		s.publish(nh, g.roots)
	}
	return AppendResult{Length: length, ByteLength: sumSizes(g.roots), Fork: u.Fork, Signature: cloneBytes(u.Signature)}, nil
}

// schemeFor returns the scheme to verify with, learning it from m when the
// core does not know its manifest yet. Callers hold writeMu.
func (s *state) schemeFor(m *Manifest) (*scheme, []byte, error) {
	if s.scheme != nil {
		return s.scheme, s.manifest, nil
	}
	if m == nil {
		// No manifest known or offered: a compat core, whose key is the
		// public key, is the only thing left to try.
		sc := compatScheme(s.key)
		return &sc, nil, nil
	}
	if m.Hash() != s.key {
		return nil, nil, fmt.Errorf("core %s: %w", s.key, ErrManifestMismatch)
	}
	sc, err := manifestScheme(m, s.key)
	if err != nil {
		return nil, nil, fmt.Errorf("core %s: %w", s.key, err)
	}
	return &sc, m.Encode(), nil
}

// adopt keeps a scheme learned from a verified update. Callers hold writeMu.
func (s *state) adopt(sc *scheme, manifest []byte) {
	if s.scheme != nil {
		return
	}
	s.mu.Lock()
	s.scheme, s.manifest = sc, manifest
	s.mu.Unlock()
}

// rootsAt returns the full roots at length, from memory when it is the
// current length.
func (s *state) rootsAt(ctx context.Context, length uint64) ([]Node, error) {
	if length == s.header.Length {
		return append([]Node(nil), s.roots...), nil
	}
	return s.readRoots(ctx, length)
}

// trustedLookup finds a node this core trusts: one of its roots or a stored
// tree node inside its signed length.
func (s *state) trustedLookup(ctx context.Context) nodeLookup {
	return func(index uint64) (Node, bool, error) {
		for _, r := range s.roots {
			if r.Index == index {
				return r, true, nil
			}
		}
		if RightSpan(index) >= 2*s.header.Length {
			return Node{}, false, nil
		}
		nodes, err := s.st.ReadNodes(ctx, []uint64{index})
		if err != nil {
			return Node{}, false, err
		}
		if len(nodes) != 1 {
			return Node{}, false, nil
		}
		return nodes[0], true, nil
	}
}

// VerifyState reports whether signature is a valid signature of this
// core's own tree at (fork, length): nil when it is. A writer uses it to
// recognise its own messages in a shared stream. Only the current fork can
// be checked; another fork is ErrStaleUpdate.
func (c *Core) VerifyState(ctx context.Context, fork, length uint64, signature []byte) error {
	if err := c.check(); err != nil {
		return err
	}
	s := c.c
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	h := s.header
	if fork != h.Fork {
		return fmt.Errorf("verify %s: %w: fork %d, the core is at fork %d", s.key, ErrStaleUpdate, fork, h.Fork)
	}
	if length > h.Length {
		return fmt.Errorf("verify %s: %w: length %d, the core has %d", s.key, ErrOutOfRange, length, h.Length)
	}
	if s.scheme == nil {
		return fmt.Errorf("verify %s: %w: no manifest known", s.key, ErrInvalidSignature)
	}
	roots, err := s.rootsAt(ctx, length)
	if err != nil {
		return fmt.Errorf("verify %s: %w", s.key, err)
	}
	return s.scheme.verify(signature, TreeHash(roots), length, fork)
}
