package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/corebridge/corebridge/plugins/encodings"
	"github.com/fxamacker/cbor/v2"
)

// The formats this encoding speaks: CBOR itself (the default) and JSON.
const formatCBOR encodings.Format = "cbor"

var info = encodings.Info{Name: "cbor", Formats: []encodings.Format{formatCBOR, encodings.FormatJSON}}

// cborEncoding stores one CBOR data item per block.
//
//   - CBOR values are checked (exactly one well-formed data item) and stored
//     as sent.
//   - JSON values are stored as deterministic CBOR (RFC 8949 core
//     deterministic encoding: map keys sorted, shortest integers and
//     floats), integers as CBOR integers, other numbers as floats.
//   - Reading as JSON works for null, booleans, numbers, text, arrays and
//     maps with text keys; byte strings, tags other than those, undefined
//     and non-finite floats have no JSON form (ErrNotRepresentable).
type cborEncoding struct {
	enc cbor.EncMode
	dec cbor.DecMode
}

func newCBOR() *cborEncoding {
	enc, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err) // the options are constant
	}
	dec, err := cbor.DecOptions{
		MaxNestedLevels: 1000,
		DefaultMapType:  reflect.TypeOf(map[string]any(nil)),
		IntDec:          cbor.IntDecConvertNone,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return &cborEncoding{enc: enc, dec: dec}
}

func (c *cborEncoding) Info(ctx context.Context) (encodings.Info, error) {
	if err := ctx.Err(); err != nil {
		return encodings.Info{}, err
	}
	return encodings.Info{Name: info.Name, Formats: append([]encodings.Format(nil), info.Formats...)}, nil
}

func (c *cborEncoding) Encode(ctx context.Context, wire encodings.Format, values [][]byte) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := info.Resolve(wire)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(values))
	for i, v := range values {
		if f == formatCBOR {
			if err := c.dec.Wellformed(v); err != nil {
				return nil, encodings.InvalidValue(i, err)
			}
			out[i] = v
			continue
		}
		x, err := parseJSON(v)
		if err != nil {
			return nil, encodings.InvalidValue(i, err)
		}
		if out[i], err = c.enc.Marshal(x); err != nil {
			return nil, encodings.InvalidValue(i, err)
		}
	}
	return out, nil
}

func (c *cborEncoding) Decode(ctx context.Context, want encodings.Format, blocks [][]byte) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := info.Resolve(want)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(blocks))
	for i, b := range blocks {
		if err := c.dec.Wellformed(b); err != nil {
			return nil, encodings.InvalidBlock(i, err)
		}
		if f == formatCBOR {
			out[i] = b
			continue
		}
		var x any
		if err := c.dec.Unmarshal(b, &x); err != nil {
			var typeErr *cbor.UnmarshalTypeError
			if errors.As(err, &typeErr) {
				return nil, encodings.NotRepresentable(i, encodings.FormatJSON, err)
			}
			return nil, encodings.InvalidBlock(i, err)
		}
		if out[i], err = toJSON(x); err != nil {
			return nil, encodings.NotRepresentable(i, encodings.FormatJSON, err)
		}
	}
	return out, nil
}

// parseJSON reads exactly one JSON value, keeping integers exact.
func parseJSON(v []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if _, err := d.Token(); err == nil {
		return nil, errors.New("not JSON: more than one value")
	}
	return numbers(x)
}

// numbers turns the json.Numbers in x into integers or floats.
func numbers(x any) (any, error) {
	switch x := x.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return u, nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, fmt.Errorf("number %s out of range", x)
		}
		return f, nil
	case []any:
		for i := range x {
			var err error
			if x[i], err = numbers(x[i]); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		for k := range x {
			var err error
			if x[k], err = numbers(x[k]); err != nil {
				return nil, err
			}
		}
	}
	return x, nil
}

// toJSON writes x as JSON, or says why it has no JSON form.
func toJSON(x any) ([]byte, error) {
	if err := checkJSON(x); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func checkJSON(x any) error {
	switch x := x.(type) {
	case nil, bool, string, int64, uint64:
		return nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("float %v", x)
		}
		return nil
	case []any:
		for _, e := range x {
			if err := checkJSON(e); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		for _, e := range x {
			if err := checkJSON(e); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("CBOR %T", x)
}
