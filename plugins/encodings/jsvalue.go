package encodings

import (
	"slices"
	"strconv"
	"unicode/utf8"
)

// jsValue is a value as JavaScript holds it after JSON.parse (or after a
// msgpack decoder), kept just far enough to write it back as
// JSON.stringify would: objects keep JavaScript's property order, strings
// may hold lone UTF-16 surrogates, numbers are doubles.
type jsValue struct {
	kind jsKind
	num  float64    // jsNumber
	lit  string     // jsNumber: exact decimal text to write instead of num (integers from msgpack)
	str  string     // jsString: WTF-8, i.e. UTF-8 that may encode lone surrogates
	arr  []jsValue  // jsArray
	obj  []jsMember // jsObject, in JavaScript property order, keys unique
}

type jsKind uint8

const (
	jsNull jsKind = iota
	jsFalse
	jsTrue
	jsNumber
	jsString
	jsArray
	jsObject
)

type jsMember struct {
	key string // WTF-8
	val jsValue
}

// maxDepth bounds the nesting of arrays and objects a value may have.
const maxDepth = 10000

// jsObjectOf orders members as a JavaScript object created by adding them
// in turn would hold them: a repeated key keeps its first position and its
// last value, and keys that are array indexes ("0" … "4294967294", written
// canonically) come first in ascending numeric order, before the other keys
// in insertion order (ECMA-262 OrdinaryOwnPropertyKeys).
func jsObjectOf(members []jsMember) jsValue {
	var index map[string]int // key → position, for larger objects
	out := members[:0]
	indexKeys := false
	for _, m := range members {
		pos := -1
		if index != nil {
			if p, ok := index[m.key]; ok {
				pos = p
			}
		} else {
			for p := range out {
				if out[p].key == m.key {
					pos = p
					break
				}
			}
		}
		if pos >= 0 {
			out[pos].val = m.val
			continue
		}
		out = append(out, m)
		if _, ok := arrayIndex(m.key); ok {
			indexKeys = true
		}
		if index == nil && len(out) > 16 {
			index = make(map[string]int, 2*len(out))
			for p, o := range out {
				index[o.key] = p
			}
		} else if index != nil {
			index[m.key] = len(out) - 1
		}
	}
	if indexKeys {
		slices.SortStableFunc(out, func(a, b jsMember) int {
			ai, aok := arrayIndex(a.key)
			bi, bok := arrayIndex(b.key)
			switch {
			case aok && bok:
				return cmpUint(ai, bi)
			case aok:
				return -1
			case bok:
				return 1
			}
			return 0
		})
	}
	return jsValue{kind: jsObject, obj: out}
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// arrayIndex reports whether key is an array index: the canonical decimal
// form of an integer from 0 to 2^32−2.
func arrayIndex(key string) (uint64, bool) {
	if key == "" || len(key) > 10 || (key[0] == '0' && len(key) > 1) {
		return 0, false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < '0' || key[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(key, 10, 64)
	if err != nil || n > 1<<32-2 {
		return 0, false
	}
	return n, true
}

// appendJSON appends v as JSON.stringify writes it: no white space, no
// HTML escaping, numbers as Number::toString.
func appendJSON(dst []byte, v *jsValue) []byte {
	switch v.kind {
	case jsNull:
		return append(dst, "null"...)
	case jsFalse:
		return append(dst, "false"...)
	case jsTrue:
		return append(dst, "true"...)
	case jsNumber:
		if v.lit != "" {
			return append(dst, v.lit...)
		}
		return appendJSNumber(dst, v.num)
	case jsString:
		return appendJSString(dst, v.str)
	case jsArray:
		dst = append(dst, '[')
		for i := range v.arr {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSON(dst, &v.arr[i])
		}
		return append(dst, ']')
	default:
		dst = append(dst, '{')
		for i := range v.obj {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSString(dst, v.obj[i].key)
			dst = append(dst, ':')
			dst = appendJSON(dst, &v.obj[i].val)
		}
		return append(dst, '}')
	}
}

const hexDigits = "0123456789abcdef"

// appendJSString appends s (WTF-8) quoted as JSON.stringify quotes strings
// (ECMA-262 QuoteJSONString): \b \t \n \f \r \" \\ as short escapes, other
// code units below U+0020 and lone surrogates as \u00xx / \udxxx in lower
// case hex, everything else (U+2028, U+2029, <, >, &, DEL) as it is.
func appendJSString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0xED {
			i++
			continue
		}
		if c == 0xED {
			if i+2 < len(s) && s[i+1] >= 0xA0 {
				// An encoded surrogate: always lone here, since pairs are
				// stored as the 4-byte form.
				dst = append(dst, s[start:i]...)
				u := rune(c&0x0F)<<12 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F)
				dst = append(dst, '\\', 'u', hexDigits[u>>12], hexDigits[u>>8&0xF], hexDigits[u>>4&0xF], hexDigits[u&0xF])
				i += 3
				start = i
				continue
			}
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendSurrogate appends the code unit u (a surrogate) in WTF-8.
func appendSurrogate(dst []byte, u rune) []byte {
	return append(dst, byte(0xE0|u>>12), byte(0x80|(u>>6)&0x3F), byte(0x80|u&0x3F))
}

// toUTF8 returns s with every lone surrogate replaced by U+FFFD, as
// JavaScript does when it encodes a string as UTF-8.
func toUTF8(s string) string {
	if !containsSurrogate(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		if s[i] == 0xED && i+2 < len(s) && s[i+1] >= 0xA0 {
			b = utf8.AppendRune(b, utf8.RuneError)
			i += 3
			continue
		}
		b = append(b, s[i])
		i++
	}
	return string(b)
}

func containsSurrogate(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == 0xED && s[i+1] >= 0xA0 {
			return true
		}
	}
	return false
}
