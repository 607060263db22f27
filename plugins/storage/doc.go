// Package storage is corebridge's storage plugin kind: where the blocks,
// Merkle tree nodes and header of every core are kept.
//
// Implementers implement Backend, a plain Go interface with one call per
// read and one per batch, whatever the batch holds. Plugin wraps a Backend
// for hashicorp/go-plugin, so it can be served from a process of its own
// over gRPC; the unexported client and server shims carry the calls, and
// the sentinel errors (ErrClosed, ErrInvalidBatch, ErrCorrupt,
// ErrUnavailable) keep their identity across the process boundary.
// storagetest is the conformance suite every backend must pass.
//
// Users (the bridge) get a Store, which is a corestore.Backend whose
// per-core handles are core.Storage values. Open builds one from a Spec:
// a builtin inside the host, or a supervised plugin process that is
// restarted when it dies.
//
// The builtins are bolt (the default: every core in one bbolt file) and
// memory (for tests). Registry is the immutable set of builtins the bridge
// builds at start-up; nothing registers itself.
//
// What every backend promises:
//
//   - Atomicity: a Commit is applied whole or not at all, drops before
//     writes. A Commit that fails leaves nothing visible.
//   - Durability: when Commit returns nil, the batch survives a crash of
//     the process and of the machine (bolt fsyncs before answering).
//   - Concurrency: every method is safe for concurrent use; reads run
//     alongside commits and never see part of a batch. bolt merges the
//     commits of many cores that arrive together into one transaction and
//     one fsync, and still answers each caller with its own result.
//   - Cancellation: a Commit whose context ends before the batch is applied
//     applies nothing and returns the context's error.
//
// Across a process boundary one more outcome exists: when the plugin dies
// during a Commit, the call fails with ErrUnavailable and the batch may or
// may not have been applied; a caller that must know reads the header.
// Everything a Commit returned nil for is still there after the restart.
//
// Headers are stored in a normal form (NormalizeHeader): empty Manifest,
// Signature and UserData read back as nil.
package storage
