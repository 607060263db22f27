package core

import (
	"context"
	"errors"
	"sort"
	"sync"
)

// MemoryStorage is a Storage that keeps everything in memory. It copies on
// every read and write, so callers never share buffers with it. It serves
// tests and short-lived cores.
type MemoryStorage struct {
	mu     sync.RWMutex
	header *Header
	blocks map[uint64][]byte
	nodes  map[uint64]Node
	closed bool
	// FailCommit, when set, makes Commit return it and change nothing.
	FailCommit error
}

// NewMemoryStorage returns an empty MemoryStorage.
func NewMemoryStorage() *MemoryStorage {
	return &MemoryStorage{blocks: map[uint64][]byte{}, nodes: map[uint64]Node{}}
}

var errMemoryClosed = errors.New("memory storage closed")

// Reopen returns a MemoryStorage that shares nothing with m but holds a copy
// of what m committed, as if the process had restarted.
func (m *MemoryStorage) Reopen() *MemoryStorage {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := NewMemoryStorage()
	n.header = m.header.Clone()
	for k, v := range m.blocks {
		n.blocks[k] = cloneBytes(v)
	}
	for k, v := range m.nodes {
		n.nodes[k] = v
	}
	return n
}

// ReadHeader implements Storage.
func (m *MemoryStorage) ReadHeader(ctx context.Context) (*Header, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, errMemoryClosed
	}
	return m.header.Clone(), nil
}

// ReadBlocks implements Storage.
func (m *MemoryStorage) ReadBlocks(ctx context.Context, start, end uint64) ([]Block, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, errMemoryClosed
	}
	var out []Block
	if end-start <= uint64(len(m.blocks)) {
		for i := start; i < end; i++ {
			if v, ok := m.blocks[i]; ok {
				out = append(out, Block{Index: i, Value: append([]byte{}, v...)})
			}
		}
		return out, nil
	}
	for i, v := range m.blocks {
		if i >= start && i < end {
			out = append(out, Block{Index: i, Value: append([]byte{}, v...)})
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Index < out[b].Index })
	return out, nil
}

// ReadNodes implements Storage.
func (m *MemoryStorage) ReadNodes(ctx context.Context, indexes []uint64) ([]Node, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, errMemoryClosed
	}
	out := make([]Node, 0, len(indexes))
	for _, i := range indexes {
		if n, ok := m.nodes[i]; ok {
			out = append(out, n)
		}
	}
	return out, nil
}

// Commit implements Storage.
func (m *MemoryStorage) Commit(ctx context.Context, b *Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errMemoryClosed
	}
	if m.FailCommit != nil {
		return m.FailCommit
	}
	if b.DropBlocksFrom != nil {
		for i := range m.blocks {
			if i >= *b.DropBlocksFrom {
				delete(m.blocks, i)
			}
		}
	}
	for _, i := range b.DropNodes {
		delete(m.nodes, i)
	}
	for _, blk := range b.Blocks {
		m.blocks[blk.Index] = append([]byte{}, blk.Value...)
	}
	for _, n := range b.Nodes {
		m.nodes[n.Index] = n
	}
	if b.Header != nil {
		m.header = b.Header.Clone()
	}
	return nil
}

// Close implements Storage. The data stays readable through Reopen.
func (m *MemoryStorage) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
