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

// DecodeZ32 decodes a z-base-32 string. Bits beyond the last full byte are
// ignored, as hypercore-id-encoding does.
func DecodeZ32(s string) ([]byte, error) {
	out := make([]byte, 0, len(s)*5/8)
	var acc uint32
	var nbits uint
	for i := 0; i < len(s); i++ {
		v := z32Values[s[i]]
		if v < 0 {
			return nil, fmt.Errorf("z-base-32: invalid character %q at %d", s[i], i)
		}
		acc = acc<<5 | uint32(v)
		nbits += 5
		if nbits >= 8 {
			nbits -= 8
			out = append(out, byte(acc>>nbits))
		}
	}
	return out, nil
}

// ParseKey reads a core key written as 64 hex characters (any case) or 52
// z-base-32 characters, optionally as a pear:// link (anything after the
// next slash is ignored), as hypercore-id-encoding's decode does.
func ParseKey(s string) (Key, error) {
	var k Key
	in := s
	if rest, ok := strings.CutPrefix(in, "pear://"); ok {
		in, _, _ = strings.Cut(rest, "/")
	}
	switch len(in) {
	case 64:
		if _, err := hex.Decode(k[:], []byte(in)); err != nil {
			return Key{}, fmt.Errorf("%w: %q is not hex: %v", ErrInvalidKey, s, err)
		}
		return k, nil
	case 52:
		b, err := DecodeZ32(in)
		if err != nil {
			return Key{}, fmt.Errorf("%w: %q: %v", ErrInvalidKey, s, err)
		}
		copy(k[:], b)
		return k, nil
	}
	return Key{}, fmt.Errorf("%w: %q is neither 64 hex characters nor 52 z-base-32 characters", ErrInvalidKey, truncateForError(s))
}

func truncateForError(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
