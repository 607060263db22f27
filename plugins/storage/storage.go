package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/plugins"
)

// Backend is what a storage plugin implements: the stored state of many
// cores, each named by its 32-byte discovery key. Every call carries a whole
// batch or a whole read, so a plugin process is asked once per commit, never
// once per block or node.
//
// A core needs no opening: a core that was never written reads as empty
// (no header, no blocks, no nodes). This keeps a backend stateless between
// calls, which is what lets the host restart a plugin process that died.
//
// Implementations must be safe for concurrent use, across cores and within
// one core. Returned values belong to the caller; values passed in may be
// reused by the caller once the call returns.
type Backend interface {
	// ReadHeader returns the core's last committed header, or (nil, nil)
	// when none was ever committed. Empty byte slices and an empty UserData
	// map may read back as nil (see NormalizeHeader).
	ReadHeader(ctx context.Context, dk [32]byte) (*core.Header, error)

	// ReadBlocks returns the core's present blocks with start <= index <
	// end, in index order. A present empty block has a non-nil empty Value.
	ReadBlocks(ctx context.Context, dk [32]byte, start, end uint64) ([]core.Block, error)

	// ReadNodes returns the core's present tree nodes among indexes, in the
	// order asked; absent nodes are left out.
	ReadNodes(ctx context.Context, dk [32]byte, indexes []uint64) ([]core.Node, error)

	// Commit applies b to the core atomically and durably: when it returns
	// nil, all of b survives a crash of the process and of the machine;
	// when it returns an error, none of b is visible. Drops apply before
	// writes. A batch that ValidateBatch rejects fails with ErrInvalidBatch.
	// A context that is done before the batch is applied fails the call
	// with the context's error and applies nothing.
	Commit(ctx context.Context, dk [32]byte, b *core.Batch) error

	// List returns the discovery keys of the cores that have a committed
	// header, in no particular order.
	List(ctx context.Context) ([][32]byte, error)

	// Delete removes the core and all its data. Deleting an absent core is
	// not an error.
	Delete(ctx context.Context, dk [32]byte) error

	// Close releases the backend once the calls in flight have returned.
	// Later calls fail with ErrClosed; closing again returns nil.
	Close(ctx context.Context) error
}

// The errors a Backend reports. They keep their identity across the plugin
// boundary: on the host, errors.Is(err, ErrClosed) holds for an ErrClosed
// returned inside a plugin process.
var (
	// ErrClosed reports a call on a closed Backend, Store or core handle.
	ErrClosed = errors.New("storage: closed")

	// ErrInvalidBatch reports a batch that no backend may apply: see
	// ValidateBatch. Nothing of it was applied.
	ErrInvalidBatch = errors.New("storage: invalid batch")

	// ErrCorrupt reports stored data that cannot be decoded.
	ErrCorrupt = errors.New("storage: corrupt data")

	// ErrUnavailable reports that the storage plugin process could not be
	// reached or died during the call. It is plugins.ErrUnavailable. A
	// Commit that fails with it may or may not have been applied: read the
	// header to find out.
	ErrUnavailable = plugins.ErrUnavailable
)

// ValidateBatch reports, wrapping ErrInvalidBatch, why b cannot be
// committed: b is nil, or it writes two blocks or two nodes with the same
// index (which of them should win is not defined). Backends call it before
// applying anything.
func ValidateBatch(b *core.Batch) error {
	if b == nil {
		return fmt.Errorf("%w: nil batch", ErrInvalidBatch)
	}
	if len(b.Blocks) > 1 {
		seen := make(map[uint64]struct{}, len(b.Blocks))
		for _, blk := range b.Blocks {
			if _, dup := seen[blk.Index]; dup {
				return fmt.Errorf("%w: block %d written twice", ErrInvalidBatch, blk.Index)
			}
			seen[blk.Index] = struct{}{}
		}
	}
	if len(b.Nodes) > 1 {
		seen := make(map[uint64]struct{}, len(b.Nodes))
		for _, n := range b.Nodes {
			if _, dup := seen[n.Index]; dup {
				return fmt.Errorf("%w: node %d written twice", ErrInvalidBatch, n.Index)
			}
			seen[n.Index] = struct{}{}
		}
	}
	return nil
}

// NormalizeHeader returns a copy of h in the form every backend reads it
// back: an empty Manifest or Signature is nil, an empty UserData map is nil,
// and every UserData value is non-nil. Backends may store a header in any
// form that reads back equal to NormalizeHeader of what was committed.
func NormalizeHeader(h *core.Header) *core.Header {
	if h == nil {
		return nil
	}
	c := h.Clone()
	if len(c.Manifest) == 0 {
		c.Manifest = nil
	}
	if len(c.Signature) == 0 {
		c.Signature = nil
	}
	if len(c.UserData) == 0 {
		c.UserData = nil
	}
	for k, v := range c.UserData {
		if v == nil {
			c.UserData[k] = []byte{}
		}
	}
	return c
}

// Config is what a backend is built from. The host hands it to builtins
// directly and to plugin processes through their environment (see
// EnvDir).
type Config struct {
	// Dir is the directory the backend keeps its data in; a backend
	// creates it if it does not exist. The memory backend ignores it.
	Dir string
}

// EnvDir is the environment variable through which a storage plugin
// process learns Config.Dir.
const EnvDir = "COREBRIDGE_STORAGE_DIR"
