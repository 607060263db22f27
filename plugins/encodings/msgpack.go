package encodings

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Msgpack returns the msgpack encoding. Blocks hold one MessagePack value
// each. Clients send and read either MessagePack (the default format) or
// JSON:
//
//   - MessagePack values are checked (exactly one well-formed value) and
//     stored as sent.
//   - JSON values are parsed as JSON.parse does and stored as a JavaScript
//     MessagePack encoder stores the result: integers up to 2^53 in
//     magnitude as the smallest int, other numbers as float64, objects as
//     maps in JavaScript property order.
//   - Reading as JSON writes what JSON.stringify writes for the value,
//     except that integers are written exactly. Binary data, extension
//     types and map keys other than strings and numbers have no JSON form:
//     reading them as JSON fails with ErrNotRepresentable.
func Msgpack() Encoding { return msgpackEncoding{} }

type msgpackEncoding struct{}

var msgpackInfo = Info{Name: "msgpack", Formats: []Format{FormatMsgpack, FormatJSON}}

func (msgpackEncoding) Info(ctx context.Context) (Info, error) {
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	return cloneInfo(msgpackInfo), nil
}

func (msgpackEncoding) Encode(ctx context.Context, wire Format, values [][]byte) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := msgpackInfo.Resolve(wire)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(values))
	for i, v := range values {
		if f == FormatMsgpack {
			if err := checkMsgpack(v); err != nil {
				return nil, InvalidValue(i, err)
			}
			out[i] = v
			continue
		}
		val, err := parseJSON(v)
		if err != nil {
			return nil, InvalidValue(i, err)
		}
		b, err := jsToMsgpack(&val)
		if err != nil {
			return nil, InvalidValue(i, err)
		}
		out[i] = b
	}
	return out, nil
}

func (msgpackEncoding) Decode(ctx context.Context, want Format, blocks [][]byte) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := msgpackInfo.Resolve(want)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(blocks))
	for i, b := range blocks {
		if f == FormatMsgpack {
			if err := checkMsgpack(b); err != nil {
				return nil, InvalidBlock(i, err)
			}
			out[i] = b
			continue
		}
		if err := checkMsgpack(b); err != nil {
			return nil, InvalidBlock(i, err)
		}
		val, err := readMsgpack(msgpack.NewDecoder(bytes.NewReader(b)))
		if errors.Is(err, errNoJSON) {
			return nil, NotRepresentable(i, FormatJSON, err)
		}
		if err != nil {
			return nil, InvalidBlock(i, err)
		}
		out[i] = appendJSON(nil, &val)
	}
	return out, nil
}

// errNoJSON marks msgpack values that are well-formed but have no JSON form.
var errNoJSON = errors.New("no JSON form")

// checkMsgpack checks that b holds exactly one well-formed value, reading
// only headers, so that a length claimed by a header never makes anything
// allocate.
func checkMsgpack(b []byte) error {
	n, err := msgpackValueLen(b, 0, 0)
	if err != nil {
		return fmt.Errorf("not msgpack: %w", err)
	}
	if n != len(b) {
		return fmt.Errorf("not msgpack: %d bytes after the value", len(b)-n)
	}
	return nil
}

var errTruncated = errors.New("truncated value")

// msgpackValueLen returns the end of the value that starts at b[pos].
func msgpackValueLen(b []byte, pos, depth int) (int, error) {
	if pos >= len(b) {
		return 0, errTruncated
	}
	c := b[pos]
	pos++
	var size, items int // payload bytes after the header; nested values
	switch {
	case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
	case c <= 0x8f:
		items = 2 * int(c&0x0f)
	case c <= 0x9f:
		items = int(c & 0x0f)
	case c <= 0xbf:
		size = int(c & 0x1f)
	case c == 0xc4 || c == 0xd9: // bin8, str8
		size, pos = int(be(b, pos, 1)), pos+1
	case c == 0xc5 || c == 0xda: // bin16, str16
		size, pos = int(be(b, pos, 2)), pos+2
	case c == 0xc6 || c == 0xdb: // bin32, str32
		size, pos = int(be(b, pos, 4)), pos+4
	case c == 0xc7: // ext8
		size, pos = int(be(b, pos, 1))+1, pos+1
	case c == 0xc8: // ext16
		size, pos = int(be(b, pos, 2))+1, pos+2
	case c == 0xc9: // ext32
		size, pos = int(be(b, pos, 4))+1, pos+4
	case c == 0xca:
		size = 4
	case c == 0xcb:
		size = 8
	case c >= 0xcc && c <= 0xcf: // uint8 … uint64
		size = 1 << (c - 0xcc)
	case c >= 0xd0 && c <= 0xd3: // int8 … int64
		size = 1 << (c - 0xd0)
	case c >= 0xd4 && c <= 0xd8: // fixext1 … fixext16
		size = 1<<(c-0xd4) + 1
	case c == 0xdc: // array16
		items, pos = int(be(b, pos, 2)), pos+2
	case c == 0xdd: // array32
		items, pos = int(be(b, pos, 4)), pos+4
	case c == 0xde: // map16
		items, pos = 2*int(be(b, pos, 2)), pos+2
	case c == 0xdf: // map32
		items, pos = 2*int(be(b, pos, 4)), pos+4
	default: // 0xc1
		return 0, fmt.Errorf("reserved type byte 0x%02x at byte %d", c, pos-1)
	}
	if pos > len(b) || size > len(b)-pos {
		return 0, errTruncated
	}
	pos += size
	if items > 0 {
		if depth+1 > maxDepth {
			return 0, fmt.Errorf("nested deeper than %d", maxDepth)
		}
		if items > len(b)-pos {
			return 0, errTruncated // every value takes at least one byte
		}
		for range items {
			var err error
			if pos, err = msgpackValueLen(b, pos, depth+1); err != nil {
				return 0, err
			}
		}
	}
	return pos, nil
}

// be reads an n-byte big-endian length at b[pos], or a length too large to
// fit when b ends first.
func be(b []byte, pos, n int) uint64 {
	if pos+n > len(b) {
		return math.MaxInt32
	}
	var v uint64
	for _, c := range b[pos : pos+n] {
		v = v<<8 | uint64(c)
	}
	return v
}

// containerLen reads the header of a map or array at c, if it is one.
func containerLen(dec *msgpack.Decoder, c byte) (n int, isMap, isArray bool, err error) {
	switch {
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		n, err = dec.DecodeMapLen()
		return n, true, false, err
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		n, err = dec.DecodeArrayLen()
		return n, false, true, err
	}
	return 0, false, false, nil
}

// readMsgpack reads one value, checked by checkMsgpack first, as a
// JavaScript decoder would hold it.
func readMsgpack(dec *msgpack.Decoder) (jsValue, error) {
	c, err := dec.PeekCode()
	if err != nil {
		return jsValue{}, err
	}
	n, isMap, isArray, err := containerLen(dec, c)
	if err != nil {
		return jsValue{}, err
	}
	switch {
	case isArray:
		v := jsValue{kind: jsArray, arr: make([]jsValue, 0, min(n, 1024))}
		for range n {
			e, err := readMsgpack(dec)
			if err != nil {
				return jsValue{}, err
			}
			v.arr = append(v.arr, e)
		}
		return v, nil
	case isMap:
		members := make([]jsMember, 0, min(n, 1024))
		for range n {
			k, err := readMsgpack(dec)
			if err != nil {
				return jsValue{}, err
			}
			key, err := propertyKey(k)
			if err != nil {
				return jsValue{}, err
			}
			v, err := readMsgpack(dec)
			if err != nil {
				return jsValue{}, err
			}
			members = append(members, jsMember{key: key, val: v})
		}
		return jsObjectOf(members), nil
	case msgpcode.IsBin(c):
		return jsValue{}, fmt.Errorf("binary data: %w", errNoJSON)
	case msgpcode.IsExt(c):
		return jsValue{}, fmt.Errorf("extension type: %w", errNoJSON)
	}
	x, err := dec.DecodeInterface()
	if err != nil {
		return jsValue{}, err
	}
	switch x := x.(type) {
	case nil:
		return jsValue{kind: jsNull}, nil
	case bool:
		if x {
			return jsValue{kind: jsTrue}, nil
		}
		return jsValue{kind: jsFalse}, nil
	case string:
		return jsValue{kind: jsString, str: validUTF8(x)}, nil
	case float32:
		return jsValue{kind: jsNumber, num: float64(x)}, nil
	case float64:
		return jsValue{kind: jsNumber, num: x}, nil
	case int8, int16, int32, int64:
		i := toInt64(x)
		return jsValue{kind: jsNumber, num: float64(i), lit: strconv.FormatInt(i, 10)}, nil
	case uint8, uint16, uint32, uint64:
		u := toUint64(x)
		return jsValue{kind: jsNumber, num: float64(u), lit: strconv.FormatUint(u, 10)}, nil
	}
	return jsValue{}, fmt.Errorf("%T: %w", x, errNoJSON)
}

// propertyKey turns a map key into a JavaScript property name.
func propertyKey(k jsValue) (string, error) {
	switch k.kind {
	case jsString:
		return k.str, nil
	case jsNumber:
		if k.lit != "" {
			return k.lit, nil
		}
		return string(appendJSNumber(nil, k.num)), nil
	}
	return "", fmt.Errorf("map key that is not a string or number: %w", errNoJSON)
}

func toInt64(x any) int64 {
	switch x := x.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	}
	return x.(int64)
}

func toUint64(x any) uint64 {
	switch x := x.(type) {
	case uint8:
		return uint64(x)
	case uint16:
		return uint64(x)
	case uint32:
		return uint64(x)
	}
	return x.(uint64)
}

// validUTF8 replaces each byte that is not part of valid UTF-8 with U+FFFD,
// as a JavaScript UTF-8 decoder does.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b = utf8.AppendRune(b, r)
		i += size
	}
	return string(b)
}

// maxSafeInteger is Number.MAX_SAFE_INTEGER, 2^53−1.
const maxSafeInteger = 1<<53 - 1

// jsToMsgpack encodes v as a JavaScript MessagePack encoder does.
func jsToMsgpack(v *jsValue) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	if err := writeMsgpack(enc, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeMsgpack(enc *msgpack.Encoder, v *jsValue) error {
	switch v.kind {
	case jsNull:
		return enc.EncodeNil()
	case jsFalse:
		return enc.EncodeBool(false)
	case jsTrue:
		return enc.EncodeBool(true)
	case jsNumber:
		x := v.num
		if x == math.Trunc(x) && math.Abs(x) <= maxSafeInteger {
			return enc.EncodeInt(int64(x))
		}
		return enc.EncodeFloat64(x)
	case jsString:
		return enc.EncodeString(toUTF8(v.str))
	case jsArray:
		if err := enc.EncodeArrayLen(len(v.arr)); err != nil {
			return err
		}
		for i := range v.arr {
			if err := writeMsgpack(enc, &v.arr[i]); err != nil {
				return err
			}
		}
		return nil
	default:
		if err := enc.EncodeMapLen(len(v.obj)); err != nil {
			return err
		}
		for i := range v.obj {
			if err := enc.EncodeString(toUTF8(v.obj[i].key)); err != nil {
				return err
			}
			if err := writeMsgpack(enc, &v.obj[i].val); err != nil {
				return err
			}
		}
		return nil
	}
}
