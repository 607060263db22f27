package encodings

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
)

// JSON returns the json encoding. Clients send and read JSON text; a block
// holds the bytes JavaScript's JSON.stringify(JSON.parse(value)) writes, so
// that cores written by a bridge and by JavaScript Hypercore with
// valueEncoding "json" hold the same bytes: no white space, object keys in
// JavaScript's order (array-index keys first, ascending; a repeated key
// keeps its first place and its last value), numbers as JavaScript prints
// doubles (1e+21, 0.1; integers beyond 2^53 rounded; too large ones become
// null), no HTML escaping, lone surrogates escaped.
//
// Encode rejects a value that is not JSON with ErrInvalidValue; Decode
// returns blocks as they are, after checking they are JSON.
func JSON() Encoding { return jsonEncoding{} }

type jsonEncoding struct{}

var jsonInfo = Info{Name: "json", Formats: []Format{FormatJSON}}

func (jsonEncoding) Info(ctx context.Context) (Info, error) {
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	return cloneInfo(jsonInfo), nil
}

func (jsonEncoding) Encode(ctx context.Context, wire Format, values [][]byte) ([][]byte, error) {
	if err := begin(ctx, jsonInfo, wire); err != nil {
		return nil, err
	}
	out := make([][]byte, len(values))
	for i, v := range values {
		b, err := stringifyJSON(v)
		if err != nil {
			return nil, InvalidValue(i, err)
		}
		out[i] = b
	}
	return out, nil
}

func (jsonEncoding) Decode(ctx context.Context, want Format, blocks [][]byte) ([][]byte, error) {
	if err := begin(ctx, jsonInfo, want); err != nil {
		return nil, err
	}
	for i, b := range blocks {
		if !json.Valid(b) {
			return nil, InvalidBlock(i, errors.New("not JSON"))
		}
	}
	return nonNil(blocks), nil
}

// stringifyJSON returns JSON.stringify(JSON.parse(v)) as UTF-8.
func stringifyJSON(v []byte) ([]byte, error) {
	val, err := parseJSON(v)
	if err != nil {
		return nil, err
	}
	return appendJSON(make([]byte, 0, len(v)), &val), nil
}

// begin checks what every call checks first: ctx, and the format.
func begin(ctx context.Context, info Info, f Format) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err := info.Resolve(f)
	return err
}

func cloneInfo(i Info) Info {
	i.Formats = slices.Clone(i.Formats)
	i.Verbatim = slices.Clone(i.Verbatim)
	return i
}
