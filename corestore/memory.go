package corestore

import (
	"context"
	"sort"
	"sync"

	"github.com/corebridge/corebridge/core"
)

// MemoryBackend is a Backend that keeps every core in memory. It serves
// tests; the storage plugins provide durable backends.
type MemoryBackend struct {
	mu    sync.Mutex
	cores map[[32]byte]*core.MemoryStorage
}

// NewMemoryBackend returns an empty MemoryBackend.
func NewMemoryBackend() *MemoryBackend {
	return &MemoryBackend{cores: map[[32]byte]*core.MemoryStorage{}}
}

// memoryHandle is one opening of a stored core; closing it leaves the data.
type memoryHandle struct{ *core.MemoryStorage }

func (memoryHandle) Close() error { return nil }

// OpenCore implements Backend.
func (m *MemoryBackend) OpenCore(ctx context.Context, dk [32]byte) (core.Storage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.cores[dk]
	if !ok {
		st = core.NewMemoryStorage()
		m.cores[dk] = st
	}
	return memoryHandle{st}, nil
}

// ListCores implements Backend.
func (m *MemoryBackend) ListCores(ctx context.Context) ([][32]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out [][32]byte
	for dk, st := range m.cores {
		if h, _ := st.ReadHeader(ctx); h != nil {
			out = append(out, dk)
		}
	}
	sort.Slice(out, func(i, j int) bool { return string(out[i][:]) < string(out[j][:]) })
	return out, nil
}

// DeleteCore implements Backend.
func (m *MemoryBackend) DeleteCore(ctx context.Context, dk [32]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.cores, dk)
	return nil
}

// Close implements Backend. The data stays for a later Open, as a durable
// backend's would.
func (m *MemoryBackend) Close() error { return nil }
