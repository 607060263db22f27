package corestore_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/corestore"
)

// readCounting is a backend whose storages count the block reads that
// reach them.
type readCounting struct {
	*corestore.MemoryBackend
	reads atomic.Int64
}

type countedStorage struct {
	core.Storage
	b *readCounting
}

func (s countedStorage) ReadBlocks(ctx context.Context, start, end uint64) ([]core.Block, error) {
	s.b.reads.Add(1)
	return s.Storage.ReadBlocks(ctx, start, end)
}

func (b *readCounting) OpenCore(ctx context.Context, dk [32]byte) (core.Storage, error) {
	st, err := b.MemoryBackend.OpenCore(ctx, dk)
	if err != nil {
		return nil, err
	}
	return countedStorage{st, b}, nil
}

// TestBlockCache: with Options.BlockCache, blocks a core appends are read
// back without a backend read, truncates are seen, and closing the store
// empties the cache.
func TestBlockCache(t *testing.T) {
	ctx := context.Background()
	backend := &readCounting{MemoryBackend: corestore.NewMemoryBackend()}
	cache := core.NewBlockCache(1 << 20)
	dir := t.TempDir()
	s := openStore(t, backend, dir, corestore.Options{BlockCache: cache})
	c, err := s.Get(ctx, corestore.GetOptions{Name: "cached"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append(ctx, [][]byte{[]byte("a"), []byte("b"), []byte("c")}); err != nil {
		t.Fatal(err)
	}
	if err := c.Truncate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append(ctx, [][]byte{[]byte("B")}); err != nil {
		t.Fatal(err)
	}
	backend.reads.Store(0)
	for i, want := range []string{"a", "B"} {
		v, err := c.Get(ctx, uint64(i))
		if err != nil || string(v) != want {
			t.Fatalf("block %d = %q, %v; want %q", i, v, err, want)
		}
	}
	if n := backend.reads.Load(); n != 0 {
		t.Errorf("%d block reads reached the backend, want 0", n)
	}
	if st := cache.Stats(); st.Hits != 2 || st.Entries != 2 {
		t.Errorf("cache stats %+v, want 2 hits and 2 entries", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st := cache.Stats(); st.Entries != 0 || st.Bytes != 0 {
		t.Errorf("after the store closed the cache holds %+v", st)
	}

	// Reopened, the blocks come from the backend once, then from the cache.
	s = openStore(t, backend, dir, corestore.Options{BlockCache: cache})
	defer s.Close()
	if c, err = s.Get(ctx, corestore.GetOptions{Name: "cached"}); err != nil {
		t.Fatal(err)
	}
	backend.reads.Store(0)
	for range 2 {
		if v, err := c.Get(ctx, 1); err != nil || string(v) != "B" {
			t.Fatalf("block 1 after reopen = %q, %v", v, err)
		}
	}
	if n := backend.reads.Load(); n != 1 {
		t.Errorf("%d block reads reached the backend, want 1", n)
	}
}
