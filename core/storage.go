package core

import "context"

// Storage is what a Core reads and writes: its blocks, its Merkle tree nodes
// and one header. Each Core has its own Storage; a backend that hosts many
// cores hands out one Storage per core.
//
// Implementations must be safe for concurrent use. A Core issues at most one
// Commit at a time, but reads may run concurrently with a Commit.
type Storage interface {
	// ReadHeader returns the last committed header, or (nil, nil) when
	// nothing was ever committed.
	ReadHeader(ctx context.Context) (*Header, error)

	// ReadBlocks returns the stored blocks with start <= index < end, in
	// index order. Absent blocks are left out; a present empty block is
	// returned with a non-nil empty Value.
	ReadBlocks(ctx context.Context, start, end uint64) ([]Block, error)

	// ReadNodes returns the stored tree nodes among indexes, in the order
	// asked. Absent nodes are left out.
	ReadNodes(ctx context.Context, indexes []uint64) ([]Node, error)

	// Commit applies b atomically and durably: when it returns nil, all of
	// b survives a crash; when it returns an error, none of it is visible.
	Commit(ctx context.Context, b *Batch) error

	// Close releases the storage. The Core calls it once, when its last
	// session closes.
	Close() error
}

// Header is the small record that tells a Core who it is and how far it has
// got. Roots and byte length are not stored: they are the tree nodes at
// FullRoots(2*Length).
type Header struct {
	Key       [32]byte          // the core key
	Manifest  []byte            // encoded manifest; nil in compat mode
	Fork      uint64            // current fork
	Length    uint64            // signed length
	Signature []byte            // signature over (tree hash, Length, Fork)
	UserData  map[string][]byte // small application metadata (corestore keeps names here)
}

// Block is one stored block.
type Block struct {
	Index uint64
	Value []byte
}

// Batch is one atomic write. Drops apply before writes, so a truncate and the
// appends after it can share a Batch.
type Batch struct {
	// DropBlocksFrom, when non-nil, removes every block at index >= *DropBlocksFrom.
	DropBlocksFrom *uint64
	// DropNodes lists tree nodes to remove.
	DropNodes []uint64
	// Blocks and Nodes are written (overwriting what was there).
	Blocks []Block
	Nodes  []Node
	// Header, when non-nil, replaces the stored header.
	Header *Header
}

// Clone returns a deep copy of h, so a caller can keep it while h changes.
func (h *Header) Clone() *Header {
	if h == nil {
		return nil
	}
	c := *h
	c.Manifest = cloneBytes(h.Manifest)
	c.Signature = cloneBytes(h.Signature)
	if h.UserData != nil {
		c.UserData = make(map[string][]byte, len(h.UserData))
		for k, v := range h.UserData {
			c.UserData[k] = cloneBytes(v)
		}
	}
	return &c
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}
