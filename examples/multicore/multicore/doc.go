// Package multicore is the logic of the multicore example: a writer that
// keeps three cores on its bridge, and a reader that follows them on
// another bridge knowing only the first core's key.
//
// core-1 is an index: its block 0 is {"otherKeys": [<core-2 key>, <core-3
// key>]}. The writer appends each input line to core-2 when it is short
// (fewer than [ShortLine] characters) and to core-3 otherwise. The reader
// asks its own bridge to follow core-1 by key, reads block 0 (waiting for
// it to be replicated if need be), follows core-2 and core-3 by key too,
// and prints every block of both, from index 0 and with no gaps, by asking
// for block i with "wait": true, then i+1, and so on.
//
// The package talks to bridges over NATS only: it imports nothing but the
// standard library and github.com/nats-io/nats.go, which is all a client of
// corebridge needs. Subjects, headers and the error convention are spelled
// out in api.go.
package multicore
