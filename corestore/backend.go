package corestore

import (
	"context"

	"github.com/corebridge/corebridge/core"
)

// Backend is the storage a Store consumes: one core.Storage per core, named
// by the core's discovery key. The storage plugins satisfy it.
//
// Implementations must be safe for concurrent use.
type Backend interface {
	// OpenCore returns the storage of the core with this discovery key,
	// creating it empty when it does not exist yet. Closing the returned
	// Storage does not close the Backend.
	OpenCore(ctx context.Context, discoveryKey [32]byte) (core.Storage, error)

	// ListCores returns the discovery keys of every core that has a
	// committed header.
	ListCores(ctx context.Context) ([][32]byte, error)

	// DeleteCore removes a core and all its data. Deleting an absent core
	// is not an error.
	DeleteCore(ctx context.Context, discoveryKey [32]byte) error

	// Close releases the backend.
	Close() error
}
