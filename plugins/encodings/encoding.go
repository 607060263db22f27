package encodings

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Encoding translates between values as clients send and read them (the
// wire form) and the bytes stored in a core's blocks. Both directions work
// on whole batches: one call per batch, and a call either converts every
// value or fails as a whole.
//
// Results have one entry per input, in order. They may share memory with
// the inputs; callers must modify neither.
//
// Implementations must be safe for concurrent use. A call whose ctx is
// already done fails with an error that matches ctx.Err().
type Encoding interface {
	// Info describes the encoding.
	Info(ctx context.Context) (Info, error)

	// Encode turns values sent by clients in the wire format into stored
	// block bytes. An empty format means the encoding's default. A value
	// that is not valid fails the batch with ErrInvalidValue, and the
	// message says which value and why.
	Encode(ctx context.Context, wire Format, values [][]byte) ([][]byte, error)

	// Decode turns stored blocks into the values a client reads in the
	// format want (empty: the default). A block that is not valid in this
	// encoding fails the batch with ErrInvalidBlock; a block that has no
	// form in want fails it with ErrNotRepresentable.
	Decode(ctx context.Context, want Format, blocks [][]byte) ([][]byte, error)
}

// Format names a form in which clients send and read values. An encoding
// lists the formats it supports in Info; the empty Format means the
// encoding's default, the first it lists.
type Format string

// The formats of the builtin encodings. External encodings may define more.
const (
	FormatDefault Format = ""
	FormatJSON    Format = "json"
	FormatMsgpack Format = "msgpack"
	FormatBinary  Format = "binary"
)

// Info describes an encoding.
type Info struct {
	// Name is the encoding's name, as written in a core's valueEncoding.
	Name string
	// Formats are the wire formats the encoding supports. The first is
	// the default. There is at least one.
	Formats []Format
	// Verbatim lists the formats, among Formats, in which the encoding
	// stores what clients send byte for byte and returns stored bytes as
	// they are: Encode and Decode in these formats accept every value and
	// block and return them unchanged. The bridge then skips the call, so
	// a verbatim format costs no round trip to a plugin process. Declare
	// a format verbatim only when that holds for every input: the bridge
	// takes the encoding at its word.
	Verbatim []Format
}

// IsVerbatim reports whether f (the default when empty) is one of the
// encoding's verbatim formats.
func (i Info) IsVerbatim(f Format) bool {
	f, err := i.Resolve(f)
	return err == nil && slices.Contains(i.Verbatim, f)
}

// Resolve returns the format that f stands for: the default when f is
// empty, f itself when the encoding supports it, and otherwise an error
// that wraps ErrUnsupportedFormat.
func (i Info) Resolve(f Format) (Format, error) {
	if f == FormatDefault && len(i.Formats) > 0 {
		return i.Formats[0], nil
	}
	if slices.Contains(i.Formats, f) {
		return f, nil
	}
	return "", fmt.Errorf("format %q: %w (supported: %v)", f, ErrUnsupportedFormat, i.Formats)
}

// Errors an Encoding returns. They keep their identity across the plugin
// boundary: errors.Is holds on the host for an error a plugin process
// returned, and the plugin's message is kept.
var (
	// ErrInvalidValue means a value sent by a client is not valid in the
	// wire format it was sent in (for json: not JSON). The message names
	// the value by its index in the batch and says what is wrong.
	ErrInvalidValue = errors.New("invalid value")

	// ErrInvalidBlock means stored bytes are not valid in this encoding:
	// the block is damaged or was written with another encoding. The
	// message names the block by its index in the batch.
	ErrInvalidBlock = errors.New("invalid block")

	// ErrUnsupportedFormat means the encoding does not support the
	// requested wire format.
	ErrUnsupportedFormat = errors.New("unsupported format")

	// ErrNotRepresentable means a valid stored value has no form in the
	// requested format, for example msgpack binary data read as JSON.
	ErrNotRepresentable = errors.New("value not representable in format")
)

// InvalidValue returns an error for the value at index i of a batch that
// wraps ErrInvalidValue: "value 3: invalid value: <why>".
func InvalidValue(i int, why error) error {
	return &indexError{what: "value", index: i, sentinel: ErrInvalidValue, why: why}
}

// InvalidBlock returns an error for the block at index i of a batch that
// wraps ErrInvalidBlock: "block 3: invalid block: <why>".
func InvalidBlock(i int, why error) error {
	return &indexError{what: "block", index: i, sentinel: ErrInvalidBlock, why: why}
}

// NotRepresentable returns an error for the block at index i of a batch
// that wraps ErrNotRepresentable.
func NotRepresentable(i int, f Format, why error) error {
	return &indexError{what: "block", index: i, sentinel: ErrNotRepresentable, why: fmt.Errorf("%s: %w", f, why)}
}

type indexError struct {
	what     string
	index    int
	sentinel error
	why      error
}

func (e *indexError) Error() string {
	return fmt.Sprintf("%s %d: %v: %v", e.what, e.index, e.sentinel, e.why)
}

func (e *indexError) Unwrap() []error { return []error{e.sentinel, e.why} }
