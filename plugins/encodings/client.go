package encodings

import (
	"context"
	"fmt"

	pb "github.com/corebridge/corebridge/plugins/encodings/proto"
)

// client is the host's Encoding for a plugin process, over gRPC. Its errors
// match this package's sentinels with errors.Is.
type client struct {
	rpc pb.EncodingClient
}

var _ Encoding = (*client)(nil)

func (c *client) Info(ctx context.Context) (Info, error) {
	resp, err := c.rpc.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		return Info{}, errorTable.FromStatus(err)
	}
	return Info{Name: resp.GetName(), Formats: formatsFromProto(resp.GetFormats()), Verbatim: formatsFromProto(resp.GetVerbatim())}, nil
}

func (c *client) Encode(ctx context.Context, wire Format, values [][]byte) ([][]byte, error) {
	resp, err := c.rpc.Encode(ctx, &pb.EncodeRequest{Format: string(wire), Values: values})
	if err != nil {
		return nil, errorTable.FromStatus(err)
	}
	if got := len(resp.GetBlocks()); got != len(values) {
		return nil, fmt.Errorf("encode: plugin returned %d blocks for %d values", got, len(values))
	}
	return nonNil(resp.GetBlocks()), nil
}

func (c *client) Decode(ctx context.Context, want Format, blocks [][]byte) ([][]byte, error) {
	resp, err := c.rpc.Decode(ctx, &pb.DecodeRequest{Format: string(want), Blocks: blocks})
	if err != nil {
		return nil, errorTable.FromStatus(err)
	}
	if got := len(resp.GetValues()); got != len(blocks) {
		return nil, fmt.Errorf("decode: plugin returned %d values for %d blocks", got, len(blocks))
	}
	return nonNil(resp.GetValues()), nil
}
