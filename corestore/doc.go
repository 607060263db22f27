// Package corestore is Corestore in Go: named Hypercores derived from one
// primary key, organised in namespaces, opened through sessions.
//
// The key pair of a named core is derived exactly as JavaScript Corestore
// derives it (seed = BLAKE2b-256 keyed with the primary key over NS ||
// namespace || name), so the same primary key and name give the same core
// key in corebridge and in JavaScript: corestore 7 keys by default,
// corestore 6 keys with Options.Compat.
//
// Promises:
//   - The primary key lives in <dir>/primary-key (32 raw bytes, mode 0600),
//     created from crypto/rand on first use and written durably. It is never
//     logged.
//   - A named core records its name and namespace in its header, so a
//     restarted store reopens it by name, and by key as writable.
//   - Every core the store loads is announced once through Options.OnCore,
//     which is how a replicator learns of it without this package knowing
//     about NATS.
package corestore
