package core

import (
	"context"
	"math"
	"sync"
)

// BlockCache keeps recently read and recently committed blocks in memory for
// every core of a store, so that a hot block, or a block the replication
// publisher reads back right after it was appended, is answered without a
// call into the storage backend. With storage plugins each such call is a
// gRPC round trip to another process.
//
// One BlockCache is shared by all the storages it wraps and is bounded in
// total: each cached block counts its value length plus cacheEntryOverhead
// bytes of bookkeeping, and the least recently used blocks are evicted to
// stay within the budget. A read or a commit whose blocks add up to more
// than an eighth of the budget is not cached, so one large scan or batch
// neither flushes the cache nor makes a second copy of itself.
//
// Values handed out are always private copies: callers may modify what
// ReadBlocks returns, and may reuse the buffers they commit. A cache hit
// costs one allocation for all the values it returns.
//
// A nil *BlockCache is valid and caches nothing: Wrap returns the storage
// unchanged.
type BlockCache struct {
	maxBytes int64
	maxValue int64

	mu        sync.Mutex
	bytes     int64
	entries   int
	lru       cacheEntry // sentinel: lru.next is the most recently used entry
	hits      uint64
	misses    uint64
	evictions uint64
}

// cacheEntryOverhead is what one cached block is charged besides its value:
// about the size of its entry and its slot in its storage's map. It keeps a
// flood of empty blocks within the budget too.
const cacheEntryOverhead = 96

// recentCommits is how many block-changing commits of one storage a read
// may overlap and still fill the cache with what it read.
const recentCommits = 4

// cacheEntry is one cached block. Its value is never modified once cached,
// only replaced or dropped, so readers may copy it outside the lock.
type cacheEntry struct {
	owner      *cachedStorage
	index      uint64
	value      []byte // non-nil, also for an empty block
	prev, next *cacheEntry
}

func (e *cacheEntry) size() int64 { return int64(len(e.value)) + cacheEntryOverhead }

// BlockCacheStats are a BlockCache's counters.
type BlockCacheStats struct {
	// Hits and Misses count ReadBlocks calls answered from the cache and
	// passed on to the storage.
	Hits, Misses uint64
	// Evictions counts blocks dropped to stay within MaxBytes.
	Evictions uint64
	// Bytes is what the cached blocks are charged (values plus
	// bookkeeping); Entries is how many there are.
	Bytes   int64
	Entries int
	// MaxBytes is the budget.
	MaxBytes int64
}

// NewBlockCache returns a cache bounded by maxBytes. A maxBytes of 0 or less
// returns nil, which caches nothing.
func NewBlockCache(maxBytes int64) *BlockCache {
	if maxBytes <= 0 {
		return nil
	}
	c := &BlockCache{maxBytes: maxBytes, maxValue: maxBytes / 8}
	c.lru.next, c.lru.prev = &c.lru, &c.lru
	return c
}

// Stats returns the cache's counters. A nil cache has none.
func (c *BlockCache) Stats() BlockCacheStats {
	if c == nil {
		return BlockCacheStats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return BlockCacheStats{
		Hits: c.hits, Misses: c.misses, Evictions: c.evictions,
		Bytes: c.bytes, Entries: c.entries, MaxBytes: c.maxBytes,
	}
}

// Wrap returns a Storage that serves block reads from the cache where it
// can and passes everything else to st. Wrap each Storage at most once, and
// use only the wrapper from then on: writes that bypass it leave the cache
// stale. On a nil cache, Wrap returns st.
func (c *BlockCache) Wrap(st Storage) Storage {
	if c == nil {
		return st
	}
	return &cachedStorage{Storage: st, c: c}
}

// cachedStorage is one core's Storage seen through a BlockCache. A core
// with nothing cached costs only this struct: its map is made on the first
// insert and dropped when it empties again.
type cachedStorage struct {
	Storage // ReadHeader and ReadNodes pass through
	c       *BlockCache

	// Guarded by c.mu.
	blocks map[uint64]*cacheEntry // nil when empty
	// commits counts commits that changed blocks; touched[n%recentCommits]
	// is the lowest block index commit n wrote or dropped. A read that ran
	// while commits happened caches only blocks below what they touched,
	// so it never puts back a value a commit replaced or dropped.
	commits    uint64
	touched    [recentCommits]uint64
	committing int // commits that changed blocks and have not returned yet
	closed     bool
}

// ReadBlocks implements Storage. When every block of [start, end) is cached
// it is answered from the cache; otherwise the whole range is read from the
// storage, so the answer is always one state of the storage, and what it
// returns is cached.
func (s *cachedStorage) ReadBlocks(ctx context.Context, start, end uint64) ([]Block, error) {
	if start >= end {
		return s.Storage.ReadBlocks(ctx, start, end)
	}
	c := s.c
	c.mu.Lock()
	if out, ok := c.lookup(s, start, end); ok {
		c.hits++
		c.mu.Unlock()
		copyOut(out)
		return out, nil
	}
	c.misses++
	seen, busy := s.commits, s.committing > 0
	c.mu.Unlock()

	blocks, err := s.Storage.ReadBlocks(ctx, start, end)
	if err != nil {
		return nil, err
	}
	c.insertRead(s, seen, busy, blocks)
	return blocks, nil
}

// lookup returns the blocks of [start, end) when all are cached, their
// values still shared with the cache. Callers hold c.mu.
func (c *BlockCache) lookup(s *cachedStorage, start, end uint64) ([]Block, bool) {
	if s.blocks == nil || end-start > uint64(len(s.blocks)) {
		return nil, false
	}
	for i := start; i < end; i++ {
		if _, ok := s.blocks[i]; !ok {
			return nil, false
		}
	}
	out := make([]Block, 0, end-start)
	for i := start; i < end; i++ {
		e := s.blocks[i]
		c.touch(e)
		out = append(out, Block{Index: i, Value: e.value})
	}
	return out, true
}

// copyOut replaces the values of blocks with private copies, all in one
// allocation. Each copy's capacity ends at its length, so appending to one
// cannot overwrite the next.
func copyOut(blocks []Block) {
	n := 0
	for _, b := range blocks {
		n += len(b.Value)
	}
	buf := make([]byte, n)
	for i, b := range blocks {
		l := len(b.Value)
		copy(buf, b.Value)
		blocks[i].Value = buf[:l:l]
		buf = buf[l:]
	}
}

// insertRead caches what a read returned that began when s had seen
// commits, busy saying whether commit seen was still running then. It
// leaves out whatever a commit that overlapped the read may have changed.
func (c *BlockCache) insertRead(s *cachedStorage, seen uint64, busy bool, blocks []Block) {
	if !c.fits(blocks) {
		return
	}
	copies := make([][]byte, len(blocks))
	for i, b := range blocks {
		if b.Value != nil {
			copies[i] = append(make([]byte, 0, len(b.Value)), b.Value...)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.closed {
		return
	}
	limit := uint64(math.MaxUint64)
	if busy || s.commits != seen {
		if s.commits-seen >= recentCommits {
			return
		}
		// Commit seen counts too: it may have been running when the read
		// began.
		for n := seen; n <= s.commits; n++ {
			if n != 0 {
				limit = min(limit, s.touched[n%recentCommits])
			}
		}
	}
	for i, b := range blocks {
		if copies[i] == nil || b.Index >= limit {
			continue
		}
		if e, ok := s.blocks[b.Index]; ok {
			c.touch(e)
			continue
		}
		c.add(s, b.Index, copies[i])
	}
	c.evict()
}

// Commit implements Storage. Blocks the commit writes are cached once it
// succeeds; blocks it drops leave the cache before it starts. When it fails,
// everything it could have changed leaves the cache, as its outcome may be
// unknown.
func (s *cachedStorage) Commit(ctx context.Context, b *Batch) error {
	low := uint64(math.MaxUint64)
	if b.DropBlocksFrom != nil {
		low = *b.DropBlocksFrom
	}
	for _, blk := range b.Blocks {
		low = min(low, blk.Index)
	}
	if low == math.MaxUint64 {
		// Header and nodes only: the cache is not concerned.
		return s.Storage.Commit(ctx, b)
	}
	c := s.c
	c.mu.Lock()
	s.commits++
	s.touched[s.commits%recentCommits] = low
	s.committing++
	if b.DropBlocksFrom != nil {
		c.dropFrom(s, *b.DropBlocksFrom)
	}
	c.mu.Unlock()

	if err := s.Storage.Commit(ctx, b); err != nil {
		c.mu.Lock()
		s.committing--
		c.dropFrom(s, low)
		c.mu.Unlock()
		return err
	}

	copies := make([][]byte, len(b.Blocks))
	if c.fits(b.Blocks) {
		for i, blk := range b.Blocks {
			copies[i] = append(make([]byte, 0, len(blk.Value)), blk.Value...)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s.committing--
	if s.closed {
		return nil
	}
	for i, blk := range b.Blocks {
		if copies[i] == nil {
			// Not cached: an older value must not stay.
			if e, ok := s.blocks[blk.Index]; ok {
				c.remove(e)
			}
			continue
		}
		if e, ok := s.blocks[blk.Index]; ok {
			c.bytes += int64(len(copies[i])) - int64(len(e.value))
			e.value = copies[i]
			c.touch(e)
			continue
		}
		c.add(s, blk.Index, copies[i])
	}
	c.evict()
	return nil
}

// Close implements Storage: the storage's blocks leave the cache.
func (s *cachedStorage) Close() error {
	c := s.c
	c.mu.Lock()
	s.closed = true
	c.dropFrom(s, 0)
	c.mu.Unlock()
	return s.Storage.Close()
}

// fits reports whether blocks are small enough together to be cached.
func (c *BlockCache) fits(blocks []Block) bool {
	var n int64
	for _, b := range blocks {
		if n += int64(len(b.Value)); n > c.maxValue {
			return false
		}
	}
	return true
}

// add caches value as block index of s. Callers hold c.mu and call evict
// afterwards.
func (c *BlockCache) add(s *cachedStorage, index uint64, value []byte) {
	if s.blocks == nil {
		s.blocks = make(map[uint64]*cacheEntry)
	}
	e := &cacheEntry{owner: s, index: index, value: value}
	s.blocks[index] = e
	e.prev, e.next = &c.lru, c.lru.next
	e.prev.next, e.next.prev = e, e
	c.bytes += e.size()
	c.entries++
}

// touch marks e most recently used. Callers hold c.mu.
func (c *BlockCache) touch(e *cacheEntry) {
	if c.lru.next == e {
		return
	}
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = &c.lru, c.lru.next
	e.prev.next, e.next.prev = e, e
}

// remove drops e from the cache, and its storage's map once empty. Callers
// hold c.mu.
func (c *BlockCache) remove(e *cacheEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	s := e.owner
	delete(s.blocks, e.index)
	if len(s.blocks) == 0 {
		s.blocks = nil
	}
	c.bytes -= e.size()
	c.entries--
}

// dropFrom removes every cached block of s at index >= from. Callers hold
// c.mu.
func (c *BlockCache) dropFrom(s *cachedStorage, from uint64) {
	for i, e := range s.blocks {
		if i >= from {
			c.remove(e)
		}
	}
}

// evict removes least recently used blocks until the cache is within its
// budget. Callers hold c.mu.
func (c *BlockCache) evict() {
	for c.bytes > c.maxBytes && c.lru.prev != &c.lru {
		c.remove(c.lru.prev)
		c.evictions++
	}
}
