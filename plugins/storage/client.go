package storage

import (
	"context"
	"io"

	"github.com/corebridge/corebridge/core"
	pb "github.com/corebridge/corebridge/plugins/storage/proto"
)

// client is the host side of the plugin protocol: a Backend whose calls go
// to a plugin over gRPC. Each call forwards its ctx, so canceling it
// cancels the call in the plugin too.
type client struct {
	rpc pb.StorageClient
}

var _ Backend = (*client)(nil)

func (c *client) ReadHeader(ctx context.Context, dk [32]byte) (*core.Header, error) {
	resp, err := c.rpc.ReadHeader(ctx, &pb.ReadHeaderRequest{DiscoveryKey: dk[:]})
	if err != nil {
		return nil, fromStatus(err)
	}
	return headerFromProto(resp.Header)
}

func (c *client) ReadBlocks(ctx context.Context, dk [32]byte, start, end uint64) ([]core.Block, error) {
	stream, err := c.rpc.ReadBlocks(ctx, &pb.ReadBlocksRequest{DiscoveryKey: dk[:], Start: start, End: end})
	if err != nil {
		return nil, fromStatus(err)
	}
	var asm assembler
	for {
		ch, err := stream.Recv()
		if err == io.EOF {
			return asm.finish()
		}
		if err != nil {
			return nil, fromStatus(err)
		}
		for _, p := range ch.Blocks {
			if err := asm.add(p); err != nil {
				return nil, err
			}
		}
	}
}

func (c *client) ReadNodes(ctx context.Context, dk [32]byte, indexes []uint64) ([]core.Node, error) {
	stream, err := c.rpc.ReadNodes(ctx)
	if err != nil {
		return nil, fromStatus(err)
	}
	const perMsg = chunkBytes / indexWireBytes
	req := &pb.ReadNodesRequest{DiscoveryKey: dk[:]}
	for {
		n := min(len(indexes), perMsg)
		req.Indexes = indexes[:n]
		indexes = indexes[n:]
		if err := stream.Send(req); err != nil {
			// The server ended the call; Recv below reports why.
			break
		}
		if len(indexes) == 0 {
			break
		}
		req = &pb.ReadNodesRequest{}
	}
	if err := stream.CloseSend(); err != nil {
		return nil, fromStatus(err)
	}
	var out []core.Node
	for {
		ch, err := stream.Recv()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fromStatus(err)
		}
		for _, p := range ch.Nodes {
			n, err := nodeFromProto(p)
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
	}
}

func (c *client) Commit(ctx context.Context, dk [32]byte, b *core.Batch) error {
	if b == nil {
		return ValidateBatch(b)
	}
	chunks, err := commitChunks(dk, b)
	if err != nil {
		return err
	}
	stream, err := c.rpc.Commit(ctx)
	if err != nil {
		return fromStatus(err)
	}
	for _, ch := range chunks {
		if err := stream.Send(ch); err != nil {
			// io.EOF: the server ended the call; CloseAndRecv says why.
			break
		}
	}
	_, err = stream.CloseAndRecv()
	return fromStatus(err)
}

func (c *client) List(ctx context.Context) ([][32]byte, error) {
	stream, err := c.rpc.List(ctx, &pb.ListRequest{})
	if err != nil {
		return nil, fromStatus(err)
	}
	var out [][32]byte
	for {
		ch, err := stream.Recv()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fromStatus(err)
		}
		for _, k := range ch.DiscoveryKeys {
			dk, err := discoveryKey(k)
			if err != nil {
				return nil, err
			}
			out = append(out, dk)
		}
	}
}

func (c *client) Delete(ctx context.Context, dk [32]byte) error {
	_, err := c.rpc.Delete(ctx, &pb.DeleteRequest{DiscoveryKey: dk[:]})
	return fromStatus(err)
}

func (c *client) Close(ctx context.Context) error {
	_, err := c.rpc.Close(ctx, &pb.CloseRequest{})
	return fromStatus(err)
}
