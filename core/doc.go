// Package core is Hypercore in Go: a signed, Merkle-verified append-only log
// with one writer, byte-compatible with JavaScript Hypercore 10 and 11.
//
// A core's blocks are the leaves of a flat-tree Merkle tree hashed with
// BLAKE2b-256 (tree.go, hash.go). Every append batch is signed once with
// ed25519 over the tree hash, the length and the fork; a truncate moves to a
// new fork and signs at once. Keys come in two modes: manifest (the key is
// the hash of a single-signer manifest; corestore 7 / hypercore 11) and
// compat (the key is the public key; corestore 6 / hypercore 10).
//
// A writable Core holds its secret key. A reader (opened by key) grows only
// through what it can verify: proofs in Hypercore's own node order and wire
// layout (ApplyProof), or signed updates carrying the blocks (ApplyUpdate),
// which replication uses because one signature check covers a whole run.
//
// Promises:
//   - Append, Truncate, ApplyProof and ApplyUpdate commit one atomic Batch to
//     Storage and only then change what readers of the Core see; a crash
//     leaves the last committed state, which Open reloads and re-verifies.
//   - A Core is safe for concurrent use; mutations are serialised.
//   - Nothing here does I/O except through the Storage interface, and
//     nothing imports NATS, gRPC or go-plugin.
package core
