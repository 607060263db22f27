package core

import (
	"context"
	"fmt"
)

// AppendResult is where an append left the core.
type AppendResult struct {
	Length     uint64 // length after the batch
	ByteLength uint64
	Fork       uint64
	Signature  []byte // the one signature over the whole batch
}

// Append appends values as one batch: one tree update, one signature, one
// storage commit. When it returns nil the batch is durable.
func (c *Core) Append(ctx context.Context, values [][]byte) (AppendResult, error) {
	if err := c.check(); err != nil {
		return AppendResult{}, err
	}
	s := c.c
	if s.secret == nil {
		return AppendResult{}, fmt.Errorf("append to %s: %w", s.key, ErrNotWritable)
	}
	for i, v := range values {
		if len(v) > MaxBlockSize {
			return AppendResult{}, fmt.Errorf("append to %s: value %d is %d bytes: %w (limit %d)", s.key, i, len(v), ErrBlockTooLarge, MaxBlockSize)
		}
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := c.check(); err != nil {
		return AppendResult{}, err
	}

	old := s.header
	if len(values) == 0 {
		// As JavaScript Hypercore: an empty batch changes and signs nothing.
		return AppendResult{Length: old.Length, ByteLength: s.bytes, Fork: old.Fork, Signature: cloneBytes(old.Signature)}, nil
	}
	g := newGrowth(s.roots, old.Length)
	blocks := make([]Block, len(values))
	for i, v := range values {
		blocks[i] = Block{Index: old.Length + uint64(i), Value: v}
		g.add(LeafNode(old.Length+uint64(i), v))
	}
	length := old.Length + uint64(len(values))
	h := old.Clone()
	h.Length = length
	h.Signature = s.scheme.sign(s.secret, TreeHash(g.roots), length, h.Fork)

	if err := s.st.Commit(ctx, &Batch{Blocks: blocks, Nodes: g.nodes, Header: h}); err != nil {
		return AppendResult{}, fmt.Errorf("append to %s: commit: %w", s.key, err)
	}
	s.publish(h, g.roots)
	return AppendResult{Length: length, ByteLength: sumSizes(g.roots), Fork: h.Fork, Signature: cloneBytes(h.Signature)}, nil
}

// growth extends a tree leaf by leaf, keeping its full roots and every node
// it creates.
type growth struct {
	roots []Node
	nodes []Node
}

func newGrowth(roots []Node, length uint64) *growth {
	return &growth{roots: append(make([]Node, 0, len(roots)+8), roots...)}
}

// add appends a node to the right of the current roots and merges it with
// its left siblings while they are roots too.
func (g *growth) add(n Node) {
	g.nodes = append(g.nodes, n)
	g.roots = append(g.roots, n)
	for len(g.roots) > 1 {
		r := g.roots[len(g.roots)-1]
		l := g.roots[len(g.roots)-2]
		if l.Index != Sibling(r.Index) {
			break
		}
		p := ParentNode(l, r)
		g.nodes = append(g.nodes, p)
		g.roots = append(g.roots[:len(g.roots)-2], p)
	}
}

// Truncate cuts the core to length blocks under the next fork and signs the
// new state at once. Truncating to the current length only bumps the fork.
func (c *Core) Truncate(ctx context.Context, length uint64) error {
	if err := c.check(); err != nil {
		return err
	}
	s := c.c
	if s.secret == nil {
		return fmt.Errorf("truncate %s: %w", s.key, ErrNotWritable)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	old := s.header
	if length > old.Length {
		return fmt.Errorf("truncate %s to %d: %w: the core has %d blocks", s.key, length, ErrOutOfRange, old.Length)
	}
	roots, err := s.readRoots(ctx, length)
	if err != nil {
		return fmt.Errorf("truncate %s: %w", s.key, err)
	}
	h := old.Clone()
	h.Length = length
	h.Fork = old.Fork + 1
	h.Signature = s.scheme.sign(s.secret, TreeHash(roots), length, h.Fork)
	b := truncation(length, old.Length)
	b.Header = h
	if err := s.st.Commit(ctx, b); err != nil {
		return fmt.Errorf("truncate %s: commit: %w", s.key, err)
	}
	s.publishFork(h, roots, length)
	return nil
}

// truncation returns a batch that drops what a tree of oldLength blocks holds
// beyond length: the blocks, and every node covering one of them.
func truncation(length, oldLength uint64) *Batch {
	b := &Batch{}
	if length >= oldLength {
		return b
	}
	from := length
	b.DropBlocksFrom = &from
	head, last := 2*length, 2*oldLength-2
	for i := head; i <= last; i++ {
		b.DropNodes = append(b.DropNodes, i)
	}
	// Parents left of head that reach over it: any complete ancestor of
	// head, not only those up to the first one that starts at head.
	for x := Parent(head); RightSpan(x) <= last; x = Parent(x) {
		if x < head {
			b.DropNodes = append(b.DropNodes, x)
		}
	}
	return b
}

// GetOption changes how Get behaves.
type GetOption func(*getOptions)

type getOptions struct{ wait bool }

// Wait makes Get wait, bounded by its ctx, for a block that is not there yet.
func Wait() GetOption { return func(o *getOptions) { o.wait = true } }

// Get returns block index. Without Wait, an index at or past the length is
// ErrOutOfRange and a block this core lacks is ErrBlockNotAvailable.
func (c *Core) Get(ctx context.Context, index uint64, opts ...GetOption) ([]byte, error) {
	var o getOptions
	for _, f := range opts {
		f(&o)
	}
	s := c.c
	for {
		if err := c.check(); err != nil {
			return nil, err
		}
		s.mu.RLock()
		length, changed := s.header.Length, s.changed
		s.mu.RUnlock()
		if index < length {
			blocks, err := s.st.ReadBlocks(ctx, index, index+1)
			if err != nil {
				return nil, fmt.Errorf("get %s block %d: %w", s.key, index, err)
			}
			if len(blocks) == 1 && blocks[0].Index == index {
				return blocks[0].Value, nil
			}
			if !o.wait {
				return nil, fmt.Errorf("get %s block %d: %w", s.key, index, ErrBlockNotAvailable)
			}
		} else if !o.wait {
			return nil, fmt.Errorf("get %s block %d: %w (length %d)", s.key, index, ErrOutOfRange, length)
		}
		select {
		case <-changed:
		case <-s.done:
			return nil, ErrClosed
		case <-ctx.Done():
			return nil, fmt.Errorf("get %s block %d: %w", s.key, index, ctx.Err())
		}
	}
}

// Blocks returns the stored blocks with start <= index < end (end is capped
// at the length), in order; blocks this core lacks are left out.
func (c *Core) Blocks(ctx context.Context, start, end uint64) ([]Block, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if l := c.Length(); end > l {
		end = l
	}
	if start >= end {
		return nil, nil
	}
	return c.c.st.ReadBlocks(ctx, start, end)
}
