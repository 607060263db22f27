package core

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Key is a 32-byte core key or discovery key.
type Key [32]byte

// String returns the key as 64 lowercase hex characters, the form used in
// subjects and replies.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// ID returns the key in z-base-32 (52 characters), as hypercore-id-encoding
// writes core.id.
func (k Key) ID() string { return EncodeZ32(k[:]) }

const z32Alphabet = "ybndrfg8ejkmcpqxot1uwisza345h769"

var z32Values = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(z32Alphabet); i++ {
		t[z32Alphabet[i]] = int8(i)
	}
	return t
}()

// EncodeZ32 encodes b in z-base-32: 5-bit groups, most significant bit
// first, the last group padded with zero bits, no padding characters.
func EncodeZ32(b []byte) string {
	var sb strings.Builder
	sb.Grow((len(b)*8 + 4) / 5)
	var acc uint32
	var nbits uint
	for _, c := range b {
		acc = acc<<8 | uint32(c)
		nbits += 8
		for nbits >= 5 {
			nbits -= 5
			sb.WriteByte(z32Alphabet[(acc>>nbits)&31])
		}
	}
	if nbits > 0 {
		sb.WriteByte(z32Alphabet[(acc<<(5-nbits))&31])
	}
	return sb.String()
}

// DecodeZ32 decodes z-base-32 (either case). Bits past the last full byte
// must be zero, so every byte string has exactly one encoding.
func DecodeZ32(s string) ([]byte, error) {
	out := make([]byte, 0, len(s)*5/8)
	var acc uint32
	var nbits uint
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		v := z32Values[c]
		if v < 0 {
			return nil, fmt.Errorf("%q at position %d is not a z-base-32 character (%s)", string(s[i]), i+1, z32Alphabet)
		}
		acc = acc<<5 | uint32(v)
		nbits += 5
		if nbits >= 8 {
			nbits -= 8
			out = append(out, byte(acc>>nbits))
		}
	}
	if acc&(1<<nbits-1) != 0 {
		return nil, fmt.Errorf("its last character must encode zero padding bits")
	}
	return out, nil
}

// ParseKey reads a core key written as 64 hex characters (either case) or
// 52 z-base-32 characters, optionally as a pear:// link (anything after the
// next slash is ignored), as hypercore-id-encoding's decode does. Errors
// wrap ErrInvalidKey and say what is wrong in words a person can act on.
func ParseKey(s string) (Key, error) {
	var k Key
	in := s
	if rest, ok := strings.CutPrefix(in, "pear://"); ok {
		in, _, _ = strings.Cut(rest, "/")
	}
	switch len(in) {
	case 64:
		if _, err := hex.Decode(k[:], []byte(in)); err != nil {
			return Key{}, keyError(fmt.Sprintf("key %q is not valid hex: %v", truncateForError(s), err))
		}
		return k, nil
	case 52:
		b, err := DecodeZ32(in)
		if err != nil {
			return Key{}, keyError(fmt.Sprintf("key %q: %v", truncateForError(s), err))
		}
		copy(k[:], b)
		return k, nil
	}
	return Key{}, keyError(fmt.Sprintf("key %q is neither 64 hex characters nor 52 z-base-32 characters", truncateForError(s)))
}

// keyError is a ParseKey error: its text says what is wrong with the key,
// and it matches ErrInvalidKey.
type keyError string

func (e keyError) Error() string { return string(e) }
func (e keyError) Unwrap() error { return ErrInvalidKey }

func truncateForError(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
