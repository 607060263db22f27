package nats

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Core keys as people and subjects write them. Subjects and replies carry
// 64 lowercase hex characters; inputs also accept z-base-32, as
// hypercore-id-encoding does. This file stands alone so that it can give
// way to core's own id encoding once core exports one.

// z32Alphabet is the z-base-32 alphabet used by hypercore ids.
const z32Alphabet = "ybndrfg8ejkmcpqxot1uwisza345h769"

// z32Len is the length of a 32-byte key in z-base-32: 256 bits in 5-bit
// groups, the last one padded with 4 zero bits.
const z32Len = 52

// KeyHex writes a key as subjects and replies carry it: 64 lowercase hex.
func KeyHex(k [32]byte) string { return hex.EncodeToString(k[:]) }

// KeyZ32 writes a key as a hypercore id: 52 z-base-32 characters.
func KeyZ32(k [32]byte) string {
	var b strings.Builder
	b.Grow(z32Len)
	var acc uint32
	bits := 0
	for _, c := range k {
		acc = acc<<8 | uint32(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			b.WriteByte(z32Alphabet[(acc>>bits)&31])
		}
	}
	if bits > 0 {
		b.WriteByte(z32Alphabet[(acc<<(5-bits))&31])
	}
	return b.String()
}

// ParseKey reads a core key that a person or client wrote: 64 hex
// characters in either case, or a 52-character z-base-32 id. A leading
// "pear://" and anything from the next "/" on are ignored, so a pear link
// works too.
func ParseKey(s string) ([32]byte, error) {
	t := s
	if rest, ok := strings.CutPrefix(s, "pear://"); ok {
		t, _, _ = strings.Cut(rest, "/")
	}
	var k [32]byte
	switch len(t) {
	case 64:
		if _, err := hex.Decode(k[:], []byte(t)); err != nil {
			return k, fmt.Errorf("key %q is not valid hex: %w", s, err)
		}
		return k, nil
	case z32Len:
		return parseZ32(s, strings.ToLower(t))
	}
	return k, fmt.Errorf("key %q is neither 64 hex characters nor 52 z-base-32 characters", s)
}

func parseZ32(orig, t string) ([32]byte, error) {
	var k [32]byte
	var acc uint32
	bits, n := 0, 0
	for i := 0; i < len(t); i++ {
		v := strings.IndexByte(z32Alphabet, t[i])
		if v < 0 {
			return k, fmt.Errorf("key %q: %q at position %d is not a z-base-32 character (%s)", orig, string(t[i]), i+1, z32Alphabet)
		}
		acc = acc<<5 | uint32(v)
		bits += 5
		if bits >= 8 {
			bits -= 8
			k[n] = byte(acc >> bits)
			n++
		}
	}
	if acc&(1<<bits-1) != 0 {
		return k, fmt.Errorf("key %q is not a z-base-32 key: its last character must encode zero padding bits", orig)
	}
	return k, nil
}

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
