package nats

import (
	"encoding/hex"
	"fmt"

	"github.com/corebridge/corebridge/core"
)

// Core keys as people and subjects write them. Subjects and replies carry
// 64 lowercase hex characters; inputs also accept z-base-32, as
// hypercore-id-encoding does. The encodings themselves are core's.

// KeyHex writes a key as subjects and replies carry it: 64 lowercase hex.
func KeyHex(k [32]byte) string { return core.Key(k).String() }

// KeyZ32 writes a key as a hypercore id: 52 z-base-32 characters.
func KeyZ32(k [32]byte) string { return core.Key(k).ID() }

// ParseKey reads a core key that a person or client wrote: 64 hex
// characters in either case, or a 52-character z-base-32 id. A leading
// "pear://" and anything from the next "/" on are ignored, so a pear link
// works too. Errors wrap core.ErrInvalidKey.
func ParseKey(s string) ([32]byte, error) { return core.ParseKey(s) }

// parseKeyToken reads the key in a subject, which must be exactly 64
// lowercase hex characters.
func parseKeyToken(tok string) ([32]byte, error) {
	var k [32]byte
	if len(tok) != 64 {
		return k, fmt.Errorf("key %q in subject is not 64 lowercase hex characters", tok)
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return k, fmt.Errorf("key %q in subject is not 64 lowercase hex characters", tok)
		}
	}
	_, err := hex.Decode(k[:], []byte(tok))
	return k, err
}
