package encodings

import "context"

// Binary returns the binary encoding: blocks hold the bytes clients send,
// as they are, and clients read them back unchanged. Every value is valid.
func Binary() Encoding { return binaryEncoding{} }

type binaryEncoding struct{}

var binaryInfo = Info{Name: "binary", Formats: []Format{FormatBinary}, Verbatim: []Format{FormatBinary}}

func (binaryEncoding) Info(ctx context.Context) (Info, error) {
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	return cloneInfo(binaryInfo), nil
}

func (binaryEncoding) Encode(ctx context.Context, wire Format, values [][]byte) ([][]byte, error) {
	if err := begin(ctx, binaryInfo, wire); err != nil {
		return nil, err
	}
	return nonNil(values), nil
}

func (binaryEncoding) Decode(ctx context.Context, want Format, blocks [][]byte) ([][]byte, error) {
	if err := begin(ctx, binaryInfo, want); err != nil {
		return nil, err
	}
	return nonNil(blocks), nil
}
