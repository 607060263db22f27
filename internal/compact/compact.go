// Package compact implements the pieces of compact-encoding (the byte format
// of JavaScript Hypercore's messages and manifests) that corebridge needs:
// the variable-length uint, fixed-size fields, buffers and arrays.
//
// The uint is not LEB128: values up to 0xfc take one byte; larger values are
// a marker byte (0xfd, 0xfe, 0xff) followed by 2, 4 or 8 little-endian bytes.
package compact

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrShort is returned when the input ends before a value is complete.
var ErrShort = errors.New("compact: input too short")

// AppendUint appends n as a compact-encoding uint.
func AppendUint(b []byte, n uint64) []byte {
	switch {
	case n <= 0xfc:
		return append(b, byte(n))
	case n <= 0xffff:
		return binary.LittleEndian.AppendUint16(append(b, 0xfd), uint16(n))
	case n <= 0xffffffff:
		return binary.LittleEndian.AppendUint32(append(b, 0xfe), uint32(n))
	default:
		return binary.LittleEndian.AppendUint64(append(b, 0xff), n)
	}
}

// UintLen returns the encoded size of n.
func UintLen(n uint64) int {
	switch {
	case n <= 0xfc:
		return 1
	case n <= 0xffff:
		return 3
	case n <= 0xffffffff:
		return 5
	default:
		return 9
	}
}

// AppendBuffer appends a length-prefixed byte string.
func AppendBuffer(b, v []byte) []byte {
	return append(AppendUint(b, uint64(len(v))), v...)
}

// Decoder reads compact-encoded values from a byte slice. The first error
// sticks: later reads return zero values, and Err reports it.
type Decoder struct {
	buf []byte
	err error
}

// NewDecoder returns a Decoder over b. It does not copy b; Buffer and Fixed
// return sub-slices of it.
func NewDecoder(b []byte) *Decoder { return &Decoder{buf: b} }

// Err returns the first error met.
func (d *Decoder) Err() error { return d.err }

// Len returns the number of unread bytes.
func (d *Decoder) Len() int { return len(d.buf) }

// Fail records err unless an error is already recorded.
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// Uint reads a compact uint. Non-minimal encodings are accepted, as
// compact-encoding does.
func (d *Decoder) Uint() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.buf) < 1 {
		d.err = ErrShort
		return 0
	}
	m := d.buf[0]
	var size int
	switch m {
	case 0xfd:
		size = 2
	case 0xfe:
		size = 4
	case 0xff:
		size = 8
	default:
		d.buf = d.buf[1:]
		return uint64(m)
	}
	if len(d.buf) < 1+size {
		d.err = ErrShort
		return 0
	}
	var n uint64
	switch size {
	case 2:
		n = uint64(binary.LittleEndian.Uint16(d.buf[1:]))
	case 4:
		n = uint64(binary.LittleEndian.Uint32(d.buf[1:]))
	default:
		n = binary.LittleEndian.Uint64(d.buf[1:])
	}
	d.buf = d.buf[1+size:]
	return n
}

// Fixed reads n raw bytes.
func (d *Decoder) Fixed(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.buf) < n {
		d.err = ErrShort
		return nil
	}
	v := d.buf[:n:n]
	d.buf = d.buf[n:]
	return v
}

// Fixed32 reads 32 raw bytes.
func (d *Decoder) Fixed32() (out [32]byte) {
	copy(out[:], d.Fixed(32))
	return out
}

// Buffer reads a length-prefixed byte string.
func (d *Decoder) Buffer() []byte {
	n := d.Uint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) {
		d.err = fmt.Errorf("compact: buffer of %d bytes with %d left: %w", n, len(d.buf), ErrShort)
		return nil
	}
	return d.Fixed(int(n))
}

// Count reads an array length and checks that at least minItemSize*count
// bytes remain, so a hostile count cannot make a caller allocate without
// bound.
func (d *Decoder) Count(minItemSize int) int {
	n := d.Uint()
	if d.err != nil {
		return 0
	}
	if minItemSize < 1 {
		minItemSize = 1
	}
	if n > uint64(len(d.buf)/minItemSize) {
		d.err = fmt.Errorf("compact: array of %d items with %d bytes left: %w", n, len(d.buf), ErrShort)
		return 0
	}
	return int(n)
}
