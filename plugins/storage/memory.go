package storage

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/corebridge/corebridge/core"
)

// Memory is a Backend that keeps everything in maps, for tests. It copies
// what it is given and what it returns, so callers never share memory with
// it. Its commits are atomic but, by nature, not durable.
type Memory struct {
	mu     sync.RWMutex
	closed bool
	cores  map[[32]byte]*memCore
}

type memCore struct {
	header *core.Header
	blocks map[uint64][]byte
	nodes  map[uint64]core.Node
}

// NewMemory returns an empty Memory backend.
func NewMemory() *Memory {
	return &Memory{cores: make(map[[32]byte]*memCore)}
}

var _ Backend = (*Memory)(nil)

// ReadHeader implements Backend.
func (m *Memory) ReadHeader(ctx context.Context, dk [32]byte) (*core.Header, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	c := m.cores[dk]
	if c == nil {
		return nil, nil
	}
	return NormalizeHeader(c.header), nil
}

// ReadBlocks implements Backend.
func (m *Memory) ReadBlocks(ctx context.Context, dk [32]byte, start, end uint64) ([]core.Block, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	c := m.cores[dk]
	if c == nil || start >= end {
		return nil, nil
	}
	var out []core.Block
	for i, v := range c.blocks {
		if i >= start && i < end {
			out = append(out, core.Block{Index: i, Value: append([]byte{}, v...)})
		}
	}
	slices.SortFunc(out, func(a, b core.Block) int { return cmp.Compare(a.Index, b.Index) })
	return out, nil
}

// ReadNodes implements Backend.
func (m *Memory) ReadNodes(ctx context.Context, dk [32]byte, indexes []uint64) ([]core.Node, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	c := m.cores[dk]
	if c == nil {
		return nil, nil
	}
	var out []core.Node
	for _, i := range indexes {
		if n, ok := c.nodes[i]; ok {
			out = append(out, n)
		}
	}
	return out, nil
}

// Commit implements Backend.
func (m *Memory) Commit(ctx context.Context, dk [32]byte, b *core.Batch) error {
	if err := ValidateBatch(b); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return err
	}
	c := m.cores[dk]
	if c == nil {
		c = &memCore{blocks: make(map[uint64][]byte), nodes: make(map[uint64]core.Node)}
		m.cores[dk] = c
	}
	if b.DropBlocksFrom != nil {
		for i := range c.blocks {
			if i >= *b.DropBlocksFrom {
				delete(c.blocks, i)
			}
		}
	}
	for _, i := range b.DropNodes {
		delete(c.nodes, i)
	}
	for _, blk := range b.Blocks {
		c.blocks[blk.Index] = append([]byte{}, blk.Value...)
	}
	for _, n := range b.Nodes {
		c.nodes[n.Index] = n
	}
	if b.Header != nil {
		c.header = NormalizeHeader(b.Header)
	}
	return nil
}

// List implements Backend.
func (m *Memory) List(ctx context.Context) ([][32]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	var out [][32]byte
	for dk, c := range m.cores {
		if c.header != nil {
			out = append(out, dk)
		}
	}
	return out, nil
}

// Delete implements Backend.
func (m *Memory) Delete(ctx context.Context, dk [32]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return err
	}
	delete(m.cores, dk)
	return nil
}

// Close implements Backend. It drops everything stored.
func (m *Memory) Close(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.cores = nil
	return nil
}

// check reports why a call may not go ahead. The caller holds m.mu.
func (m *Memory) check(ctx context.Context) error {
	if m.closed {
		return ErrClosed
	}
	return ctx.Err()
}
