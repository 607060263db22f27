package encodings

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// parseJSON parses data as JavaScript's JSON.parse would (ECMA-262 JSON
// grammar: white space is space, tab, LF and CR; one value, nothing after
// it), except that data must be UTF-8. Errors say what is wrong and at
// which byte.
func parseJSON(data []byte) (jsValue, error) {
	p := jsonParser{data: data}
	p.skipSpace()
	if p.pos == len(data) {
		return jsValue{}, fmt.Errorf("not JSON: empty")
	}
	v, err := p.value(0)
	if err != nil {
		return jsValue{}, err
	}
	p.skipSpace()
	if p.pos != len(data) {
		return jsValue{}, p.errorf("unexpected %s after the JSON value", p.describe())
	}
	return v, nil
}

type jsonParser struct {
	data []byte
	pos  int
	buf  []byte // scratch for strings with escapes
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("not JSON: "+format+" at byte %d", append(args, p.pos)...)
}

// describe names the input at the current position for an error message.
func (p *jsonParser) describe() string {
	if p.pos >= len(p.data) {
		return "end of input"
	}
	r, _ := utf8.DecodeRune(p.data[p.pos:])
	if r == utf8.RuneError {
		return fmt.Sprintf("byte 0x%02x", p.data[p.pos])
	}
	return strconv.QuoteRune(r)
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (jsValue, error) {
	if p.pos >= len(p.data) {
		return jsValue{}, p.errorf("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, err := p.string()
		return jsValue{kind: jsString, str: s}, err
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return jsValue{kind: jsTrue}, p.literal("true")
	case c == 'f':
		return jsValue{kind: jsFalse}, p.literal("false")
	case c == 'n':
		return jsValue{kind: jsNull}, p.literal("null")
	}
	return jsValue{}, p.errorf("unexpected %s", p.describe())
}

func (p *jsonParser) literal(word string) error {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return p.errorf("invalid literal, want %s", word)
	}
	p.pos += len(word)
	return nil
}

func (p *jsonParser) object(depth int) (jsValue, error) {
	if depth > maxDepth {
		return jsValue{}, p.errorf("nested deeper than %d", maxDepth)
	}
	p.pos++ // {
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return jsValue{kind: jsObject}, nil
	}
	members := make([]jsMember, 0, 8)
	for {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return jsValue{}, p.errorf("unexpected %s, want a string key", p.describe())
		}
		key, err := p.string()
		if err != nil {
			return jsValue{}, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return jsValue{}, p.errorf("unexpected %s, want ':'", p.describe())
		}
		p.pos++
		p.skipSpace()
		v, err := p.value(depth)
		if err != nil {
			return jsValue{}, err
		}
		members = append(members, jsMember{key: key, val: v})
		p.skipSpace()
		if p.pos < len(p.data) && p.data[p.pos] == ',' {
			p.pos++
			p.skipSpace()
			continue
		}
		if p.pos < len(p.data) && p.data[p.pos] == '}' {
			p.pos++
			return jsObjectOf(members), nil
		}
		return jsValue{}, p.errorf("unexpected %s, want ',' or '}'", p.describe())
	}
}

func (p *jsonParser) array(depth int) (jsValue, error) {
	if depth > maxDepth {
		return jsValue{}, p.errorf("nested deeper than %d", maxDepth)
	}
	p.pos++ // [
	p.skipSpace()
	v := jsValue{kind: jsArray}
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	for {
		e, err := p.value(depth)
		if err != nil {
			return jsValue{}, err
		}
		v.arr = append(v.arr, e)
		p.skipSpace()
		if p.pos < len(p.data) && p.data[p.pos] == ',' {
			p.pos++
			p.skipSpace()
			continue
		}
		if p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.pos++
			return v, nil
		}
		return jsValue{}, p.errorf("unexpected %s, want ',' or ']'", p.describe())
	}
}

// number parses a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// into the double JavaScript would hold (overflow gives ±Infinity).
func (p *jsonParser) number() (jsValue, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(p.data) && p.data[p.pos] == '0':
		p.pos++
	case p.pos < len(p.data) && p.data[p.pos] >= '1' && p.data[p.pos] <= '9':
		p.digits()
	default:
		return jsValue{}, p.errorf("unexpected %s in a number", p.describe())
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if p.digits() == 0 {
			return jsValue{}, p.errorf("unexpected %s, want a digit after the decimal point", p.describe())
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if p.digits() == 0 {
			return jsValue{}, p.errorf("unexpected %s, want a digit in the exponent", p.describe())
		}
	}
	f, err := strconv.ParseFloat(string(p.data[start:p.pos]), 64)
	if err != nil && !isRangeError(err) {
		return jsValue{}, fmt.Errorf("not JSON: number %q: %v", p.data[start:p.pos], err)
	}
	return jsValue{kind: jsNumber, num: f}, nil
}

func isRangeError(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func (p *jsonParser) digits() int {
	n := 0
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		p.pos++
		n++
	}
	return n
}

// string parses a JSON string into WTF-8: \u escapes of lone surrogates
// are kept as such, as JavaScript strings keep them.
func (p *jsonParser) string() (string, error) {
	p.pos++ // "
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			s := string(p.data[start:p.pos])
			p.pos++
			return s, nil
		case c == '\\':
			return p.escapedString(start)
		case c < 0x20:
			return "", p.errorf("control character 0x%02x in a string (escape it)", c)
		case c < utf8.RuneSelf:
			p.pos++
		default:
			if err := p.rune(); err != nil {
				return "", err
			}
		}
	}
	return "", p.errorf("unterminated string")
}

// rune steps over one multi-byte UTF-8 sequence.
func (p *jsonParser) rune() error {
	r, size := utf8.DecodeRune(p.data[p.pos:])
	if r == utf8.RuneError && size <= 1 {
		return p.errorf("invalid UTF-8 byte 0x%02x", p.data[p.pos])
	}
	p.pos += size
	return nil
}

func (p *jsonParser) escapedString(start int) (string, error) {
	b := append(p.buf[:0], p.data[start:p.pos]...)
	defer func() { p.buf = b[:0] }()
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(b), nil
		case c == '\\':
			p.pos++
			if p.pos >= len(p.data) {
				return "", p.errorf("unterminated string")
			}
			e := p.data[p.pos]
			p.pos++
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				u, err := p.hex4()
				if err != nil {
					return "", err
				}
				if u >= 0xD800 && u < 0xDC00 && p.pos+6 <= len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
					save := p.pos
					p.pos += 2
					lo, err := p.hex4()
					if err == nil && lo >= 0xDC00 && lo < 0xE000 {
						b = utf8.AppendRune(b, 0x10000+(u-0xD800)<<10+(lo-0xDC00))
						continue
					}
					p.pos = save
				}
				if u >= 0xD800 && u < 0xE000 {
					b = appendSurrogate(b, u)
				} else {
					b = utf8.AppendRune(b, u)
				}
			default:
				p.pos--
				return "", p.errorf("invalid escape \\%s", p.describe())
			}
		case c < 0x20:
			return "", p.errorf("control character 0x%02x in a string (escape it)", c)
		case c < utf8.RuneSelf:
			b = append(b, c)
			p.pos++
		default:
			s := p.pos
			if err := p.rune(); err != nil {
				return "", err
			}
			b = append(b, p.data[s:p.pos]...)
		}
	}
	return "", p.errorf("unterminated string")
}

func (p *jsonParser) hex4() (rune, error) {
	if p.pos+4 > len(p.data) {
		return 0, p.errorf("truncated \\u escape")
	}
	var u rune
	for i := 0; i < 4; i++ {
		c := p.data[p.pos+i]
		switch {
		case c >= '0' && c <= '9':
			u = u<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			u = u<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			u = u<<4 | rune(c-'A'+10)
		default:
			p.pos += i
			return 0, p.errorf("invalid hex digit %s in a \\u escape", p.describe())
		}
	}
	p.pos += 4
	return u, nil
}
