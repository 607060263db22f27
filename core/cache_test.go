package core_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/corebridge/corebridge/core"
)

// countingStorage counts the block reads that reach the storage behind a
// cache.
type countingStorage struct {
	*core.MemoryStorage
	reads atomic.Int64
	// yield makes reads and commits give up the processor half way, so
	// that reads and commits interleave in every order.
	yield bool
	// failAfter, when set, is returned by Commit after the commit was
	// applied: an outcome the caller cannot know.
	failAfter error
}

func (s *countingStorage) ReadBlocks(ctx context.Context, start, end uint64) ([]core.Block, error) {
	s.reads.Add(1)
	if s.yield {
		runtime.Gosched()
	}
	b, err := s.MemoryStorage.ReadBlocks(ctx, start, end)
	if s.yield {
		runtime.Gosched()
	}
	return b, err
}

func (s *countingStorage) Commit(ctx context.Context, b *core.Batch) error {
	if s.yield {
		runtime.Gosched()
	}
	if err := s.MemoryStorage.Commit(ctx, b); err != nil {
		return err
	}
	return s.failAfter
}

func newCounting() *countingStorage { return &countingStorage{MemoryStorage: core.NewMemoryStorage()} }

func blocksOf(start uint64, values ...string) []core.Block {
	out := make([]core.Block, len(values))
	for i, v := range values {
		out[i] = core.Block{Index: start + uint64(i), Value: []byte(v)}
	}
	return out
}

func commit(t testing.TB, st core.Storage, b *core.Batch) {
	t.Helper()
	if err := st.Commit(context.Background(), b); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func read(t *testing.T, st core.Storage, start, end uint64) []core.Block {
	t.Helper()
	b, err := st.ReadBlocks(context.Background(), start, end)
	if err != nil {
		t.Fatalf("read [%d, %d): %v", start, end, err)
	}
	return b
}

// sameBlocks reports how got differs from want, nil-ness of values included.
func sameBlocks(got, want []core.Block) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d blocks, want %d: %v", len(got), len(want), got)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Index != w.Index || !bytes.Equal(g.Value, w.Value) || (g.Value == nil) != (w.Value == nil) {
			return fmt.Errorf("block %d is %d:%q (nil %v), want %d:%q (nil %v)", i, g.Index, g.Value, g.Value == nil, w.Index, w.Value, w.Value == nil)
		}
	}
	return nil
}

func wantBlocks(t *testing.T, st core.Storage, start, end uint64, want []core.Block) {
	t.Helper()
	if err := sameBlocks(read(t, st, start, end), want); err != nil {
		t.Fatalf("read [%d, %d): %v", start, end, err)
	}
}

// wantReads checks how many reads reached inner since the last call.
func wantReads(t *testing.T, inner *countingStorage, n int64) {
	t.Helper()
	if got := inner.reads.Swap(0); got != n {
		t.Fatalf("%d reads reached the storage, want %d", got, n)
	}
}

func TestBlockCacheServesCommittedBlocks(t *testing.T) {
	c := core.NewBlockCache(1 << 20)
	inner := newCounting()
	st := c.Wrap(inner)
	commit(t, st, &core.Batch{Blocks: blocksOf(0, "a", "b", "c")})
	wantBlocks(t, st, 0, 3, blocksOf(0, "a", "b", "c"))
	wantBlocks(t, st, 1, 2, blocksOf(1, "b"))
	wantReads(t, inner, 0)
	if s := c.Stats(); s.Hits != 2 || s.Misses != 0 || s.Entries != 3 {
		t.Fatalf("stats %+v, want 2 hits, 0 misses, 3 entries", s)
	}
	// Past what is cached, and an empty range, go to the storage.
	wantBlocks(t, st, 2, 5, blocksOf(2, "c"))
	wantReads(t, inner, 1)
	wantBlocks(t, st, 3, 3, nil)
	wantReads(t, inner, 1)
}

func TestBlockCacheReadThrough(t *testing.T) {
	c := core.NewBlockCache(1 << 20)
	inner := newCounting()
	commit(t, inner, &core.Batch{Blocks: blocksOf(0, "a", "b", "c", "d")})
	st := c.Wrap(inner)
	wantBlocks(t, st, 1, 3, blocksOf(1, "b", "c"))
	wantReads(t, inner, 1)
	wantBlocks(t, st, 1, 3, blocksOf(1, "b", "c"))
	wantBlocks(t, st, 2, 3, blocksOf(2, "c"))
	wantReads(t, inner, 0)
	// A partial hit reads the whole range from the storage.
	wantBlocks(t, st, 0, 4, blocksOf(0, "a", "b", "c", "d"))
	wantReads(t, inner, 1)
	wantBlocks(t, st, 0, 4, blocksOf(0, "a", "b", "c", "d"))
	wantReads(t, inner, 0)
}

func TestBlockCacheAbsentAndEmptyBlocks(t *testing.T) {
	c := core.NewBlockCache(1 << 20)
	inner := newCounting()
	st := c.Wrap(inner)
	// Block 1 is absent, block 2 present and empty, even when committed
	// with a nil value.
	commit(t, st, &core.Batch{Blocks: []core.Block{{Index: 0, Value: []byte("a")}, {Index: 2, Value: nil}, {Index: 3, Value: []byte{}}}})
	want := []core.Block{{Index: 0, Value: []byte("a")}, {Index: 2, Value: []byte{}}, {Index: 3, Value: []byte{}}}
	for range 2 {
		wantBlocks(t, st, 0, 4, want)
	}
	wantReads(t, inner, 2) // a hole is never a hit
	wantBlocks(t, st, 2, 4, want[1:])
	wantBlocks(t, st, 2, 3, want[1:2])
	wantReads(t, inner, 0)
	wantBlocks(t, st, 1, 2, nil)
	wantReads(t, inner, 1)

	// Read through, too.
	inner2 := newCounting()
	commit(t, inner2, &core.Batch{Blocks: []core.Block{{Index: 5, Value: []byte{}}}})
	st2 := c.Wrap(inner2)
	for range 2 {
		wantBlocks(t, st2, 5, 6, []core.Block{{Index: 5, Value: []byte{}}})
	}
	wantReads(t, inner2, 1)
}

func TestBlockCacheTruncateAndReappend(t *testing.T) {
	c := core.NewBlockCache(1 << 20)
	inner := newCounting()
	st := c.Wrap(inner)
	commit(t, st, &core.Batch{Blocks: blocksOf(0, "a", "b", "c", "d")})
	wantBlocks(t, st, 0, 4, blocksOf(0, "a", "b", "c", "d"))

	// Truncate alone, then append at the same index.
	from := uint64(2)
	commit(t, st, &core.Batch{DropBlocksFrom: &from})
	wantBlocks(t, st, 0, 4, blocksOf(0, "a", "b"))
	wantBlocks(t, st, 2, 3, nil)
	commit(t, st, &core.Batch{Blocks: blocksOf(2, "C")})
	inner.reads.Store(0)
	wantBlocks(t, st, 0, 3, blocksOf(0, "a", "b", "C"))
	wantReads(t, inner, 0)

	// Truncate and re-append in one batch.
	from = 1
	commit(t, st, &core.Batch{DropBlocksFrom: &from, Blocks: blocksOf(1, "B2", "C2")})
	wantBlocks(t, st, 0, 3, blocksOf(0, "a", "B2", "C2"))
	wantReads(t, inner, 0)
	wantBlocks(t, st, 3, 4, nil)

	// An overwrite without a drop replaces the cached value.
	commit(t, st, &core.Batch{Blocks: blocksOf(0, "A3")})
	wantBlocks(t, st, 0, 1, blocksOf(0, "A3"))
}

// TestBlockCacheFailedCommit: a commit whose outcome is unknown leaves
// nothing it could have changed in the cache.
func TestBlockCacheFailedCommit(t *testing.T) {
	c := core.NewBlockCache(1 << 20)
	inner := newCounting()
	st := c.Wrap(inner)
	commit(t, st, &core.Batch{Blocks: blocksOf(0, "a", "b", "c")})

	// Applied, then reported as failed.
	inner.failAfter = errors.New("connection to the storage plugin lost")
	from := uint64(1)
	if err := st.Commit(context.Background(), &core.Batch{DropBlocksFrom: &from, Blocks: blocksOf(1, "X")}); err == nil {
		t.Fatal("commit did not fail")
	}
	inner.failAfter = nil
	wantBlocks(t, st, 0, 3, blocksOf(0, "a", "X"))

	// Not applied at all.
	inner.FailCommit = errors.New("disk full")
	from = 0
	if err := st.Commit(context.Background(), &core.Batch{DropBlocksFrom: &from, Blocks: blocksOf(0, "Y")}); err == nil {
		t.Fatal("commit did not fail")
	}
	inner.FailCommit = nil
	wantBlocks(t, st, 0, 3, blocksOf(0, "a", "X"))
	if err := st.Commit(context.Background(), &core.Batch{Blocks: blocksOf(2, "Z")}); err != nil {
		t.Fatal(err)
	}
	inner.reads.Store(0)
	wantBlocks(t, st, 0, 3, blocksOf(0, "a", "X", "Z"))
	wantReads(t, inner, 0)
}

func TestBlockCacheCopies(t *testing.T) {
	c := core.NewBlockCache(1 << 20)
	inner := newCounting()
	st := c.Wrap(inner)
	buf := []byte("abc")
	commit(t, st, &core.Batch{Blocks: []core.Block{{Index: 0, Value: buf}, {Index: 1, Value: []byte("def")}}})
	buf[0] = 'X' // the caller reuses its buffer
	got := read(t, st, 0, 2)
	wantReads(t, inner, 0)
	got[0].Value[1] = 'Y'
	got[0].Value = append(got[0].Value, 'Z') // must not run into block 1
	got[1].Value[2] = 'W'
	wantBlocks(t, st, 0, 2, blocksOf(0, "abc", "def"))

	// Values read through are copied too.
	commit(t, inner, &core.Batch{Blocks: blocksOf(5, "ghi")})
	got = read(t, st, 5, 6)
	got[0].Value[0] = 'Q'
	wantBlocks(t, st, 5, 6, blocksOf(5, "ghi"))
	wantReads(t, inner, 1)
}

func TestBlockCacheEviction(t *testing.T) {
	const budget = 8 << 10
	c := core.NewBlockCache(budget)
	inner := newCounting()
	st := c.Wrap(inner)
	value := bytes.Repeat([]byte{'v'}, 500)
	for i := range uint64(100) {
		commit(t, st, &core.Batch{Blocks: []core.Block{{Index: i, Value: value}}})
		if s := c.Stats(); s.Bytes > budget {
			t.Fatalf("after block %d the cache holds %d bytes, over its %d", i, s.Bytes, budget)
		}
		// Keep block 0 in use: it must survive.
		wantBlocks(t, st, 0, 1, []core.Block{{Index: 0, Value: value}})
	}
	wantReads(t, inner, 0)
	s := c.Stats()
	if s.Evictions == 0 || s.Entries >= 100 || s.Entries < 5 {
		t.Fatalf("stats %+v: want evictions and between 5 and 99 entries", s)
	}
	wantBlocks(t, st, 99, 100, []core.Block{{Index: 99, Value: value}})
	wantReads(t, inner, 0)
	wantBlocks(t, st, 1, 2, []core.Block{{Index: 1, Value: value}})
	wantReads(t, inner, 1)

	// A read of more than an eighth of the budget is not cached.
	wantBlocks(t, st, 1, 4, blocksOf(1, string(value), string(value), string(value)))
	wantBlocks(t, st, 1, 4, blocksOf(1, string(value), string(value), string(value)))
	wantReads(t, inner, 2)

	// Nor is a block over an eighth of the budget, and an older value at
	// its index goes.
	big := bytes.Repeat([]byte{'B'}, budget/8+1)
	commit(t, st, &core.Batch{Blocks: []core.Block{{Index: 99, Value: big}}})
	for range 2 {
		wantBlocks(t, st, 99, 100, []core.Block{{Index: 99, Value: big}})
	}
	wantReads(t, inner, 2)
}

// TestBlockCacheShared: cores share the budget but never see each other's
// blocks, and closing one frees its blocks only.
func TestBlockCacheShared(t *testing.T) {
	c := core.NewBlockCache(1 << 20)
	ia, ib := newCounting(), newCounting()
	a, b := c.Wrap(ia), c.Wrap(ib)
	commit(t, a, &core.Batch{Blocks: blocksOf(0, "a0", "a1")})
	commit(t, b, &core.Batch{Blocks: blocksOf(0, "b0")})
	wantBlocks(t, a, 0, 2, blocksOf(0, "a0", "a1"))
	wantBlocks(t, b, 0, 2, blocksOf(0, "b0"))
	wantReads(t, ia, 0)
	wantReads(t, ib, 1)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Entries != 1 {
		t.Fatalf("after closing a, %d entries, want b's 1", s.Entries)
	}
	if _, err := a.ReadBlocks(context.Background(), 0, 1); err == nil {
		t.Fatal("a closed storage answered a read")
	}
	wantBlocks(t, b, 0, 1, blocksOf(0, "b0"))
	wantReads(t, ib, 0)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Entries != 0 || s.Bytes != 0 {
		t.Fatalf("after closing everything: %+v", s)
	}
}

func TestBlockCacheDisabled(t *testing.T) {
	st := core.NewMemoryStorage()
	var c *core.BlockCache = core.NewBlockCache(0)
	if c != nil {
		t.Fatal("NewBlockCache(0) made a cache")
	}
	if got := c.Wrap(st); got != core.Storage(st) {
		t.Fatal("a nil cache wrapped the storage")
	}
	if s := c.Stats(); s != (core.BlockCacheStats{}) {
		t.Fatalf("a nil cache has stats %+v", s)
	}
}

// TestBlockCacheOverhead: wrapping costs one small allocation and a
// storage whose blocks all left the cache holds no map.
func TestBlockCacheOverhead(t *testing.T) {
	c := core.NewBlockCache(1 << 20)
	st := core.NewMemoryStorage()
	var sink core.Storage
	if n := testing.AllocsPerRun(100, func() { sink = c.Wrap(st) }); n > 1 {
		t.Errorf("Wrap allocates %v times, want at most 1", n)
	}
	_ = sink
	var before, after runtime.MemStats
	const cores = 10000
	storages := make([]core.Storage, cores)
	inner := core.NewMemoryStorage()
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range storages {
		storages[i] = c.Wrap(inner)
	}
	for _, s := range storages[:100] {
		commit(t, s, &core.Batch{Blocks: blocksOf(0, "x")})
		from := uint64(0)
		commit(t, s, &core.Batch{DropBlocksFrom: &from})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / cores; per > 256 {
		t.Errorf("each wrapped storage holds %d bytes with nothing cached, want at most 256", per)
	}
	runtime.KeepAlive(storages)
}

// tagged is a block value that says which commit wrote it.
func tagged(gen uint64, index uint64) []byte {
	v := make([]byte, 16+int(index%7)*10)
	binary.BigEndian.PutUint64(v, gen)
	binary.BigEndian.PutUint64(v[8:], index)
	return v
}

// TestBlockCacheConcurrentTruncates runs readers against a writer that keeps
// truncating and re-appending, and checks that no read returns a block
// older than what the last commit finished before the read began.
func TestBlockCacheConcurrentTruncates(t *testing.T) {
	commits, readers := 20000, 4
	if testing.Short() {
		commits = 2000
	}
	c := core.NewBlockCache(64 << 10)
	inner := newCounting()
	inner.yield = true
	st := c.Wrap(inner)

	// published[i] is the gen of block i after the last finished commit,
	// 0 for absent; gen is that commit's number.
	type state struct {
		gen    uint64
		blocks []uint64
	}
	var published atomic.Pointer[state]
	published.Store(&state{})

	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			for !done.Load() {
				want := published.Load()
				start := rng.Uint64N(uint64(len(want.blocks)) + 2)
				end := start + 1 + rng.Uint64N(3)
				got, err := st.ReadBlocks(context.Background(), start, end)
				if err != nil {
					errs <- err
					return
				}
				for _, b := range got {
					gen := binary.BigEndian.Uint64(b.Value)
					if idx := binary.BigEndian.Uint64(b.Value[8:]); idx != b.Index {
						errs <- fmt.Errorf("block %d holds the value of block %d", b.Index, idx)
						return
					}
					floor := want.gen + 1 // absent then: only a later commit may have written it
					if b.Index < uint64(len(want.blocks)) {
						floor = want.blocks[b.Index]
					}
					if gen < floor {
						errs <- fmt.Errorf("read [%d, %d) after commit %d: block %d from commit %d, want %d or later",
							start, end, want.gen, b.Index, gen, floor)
						return
					}
				}
			}
		}()
	}

	rng := rand.New(rand.NewPCG(99, 2))
	var blocks []uint64
	for gen := uint64(1); gen <= uint64(commits); gen++ {
		b := &core.Batch{}
		if len(blocks) > 0 && rng.IntN(4) == 0 {
			from := uint64(len(blocks) - 1 - rng.IntN(min(len(blocks), 8)))
			b.DropBlocksFrom = &from
			blocks = blocks[:from]
		}
		for n := rng.IntN(3); n > 0 && len(blocks) < 40; n-- {
			i := uint64(len(blocks))
			b.Blocks = append(b.Blocks, core.Block{Index: i, Value: tagged(gen, i)})
			blocks = append(blocks, gen)
		}
		if err := st.Commit(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		published.Store(&state{gen: gen, blocks: append([]uint64(nil), blocks...)})
		select {
		case err := <-errs:
			done.Store(true)
			wg.Wait()
			t.Fatal(err)
		default:
		}
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s := c.Stats()
	t.Logf("%+v", s)
	if s.Hits == 0 || s.Misses == 0 {
		t.Errorf("stats %+v: want both hits and misses", s)
	}
}

// BenchmarkBlockCacheReadBlocks compares ReadBlocks of 1 KiB blocks from a
// MemoryStorage with the same reads through a BlockCache that holds them
// (hit), and one too small to hold them (miss: read through, copy in, evict). A
// storage plugin adds a gRPC round trip of about 50 µs of CPU to every read
// the cache does not answer.
//
//	go test ./core -run '^$' -bench BlockCache -benchmem
func BenchmarkBlockCacheReadBlocks(b *testing.B) {
	ctx := context.Background()
	const blocks = 1000
	values := benchValues(blocks, 1024)
	for _, n := range []uint64{1, 16} {
		for _, v := range []struct {
			name  string
			cache int64
		}{{"storage", 0}, {"hit", 64 << 20}, {"miss", 64 << 10}} {
			b.Run(fmt.Sprintf("blocks=%d/%s", n, v.name), func(b *testing.B) {
				inner := core.NewMemoryStorage()
				batch := &core.Batch{}
				for i, val := range values {
					batch.Blocks = append(batch.Blocks, core.Block{Index: uint64(i), Value: val})
				}
				commit(b, inner, batch)
				st := core.NewBlockCache(v.cache).Wrap(inner)
				for i := uint64(0); i+n <= blocks; i += n {
					if _, err := st.ReadBlocks(ctx, i, i+n); err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(int64(n) * 1024)
				b.ReportAllocs()
				i := uint64(0)
				for b.Loop() {
					if _, err := st.ReadBlocks(ctx, i, i+n); err != nil {
						b.Fatal(err)
					}
					if i += n; i+n > blocks {
						i = 0
					}
				}
			})
		}
	}
}
