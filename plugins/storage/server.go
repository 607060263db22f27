package storage

import (
	"context"
	"io"

	"google.golang.org/grpc"

	pb "github.com/corebridge/corebridge/plugins/storage/proto"
)

// server is the plugin side of the plugin protocol: it serves a Backend
// over gRPC. Every call runs under the gRPC call's context, which ends when
// the host cancels the call or goes away.
type server struct {
	pb.UnimplementedStorageServer
	impl Backend
}

func (s *server) ReadHeader(ctx context.Context, req *pb.ReadHeaderRequest) (*pb.ReadHeaderResponse, error) {
	dk, err := discoveryKey(req.DiscoveryKey)
	if err != nil {
		return nil, toStatus(err)
	}
	h, err := s.impl.ReadHeader(ctx, dk)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ReadHeaderResponse{Header: headerToProto(h)}, nil
}

func (s *server) ReadBlocks(req *pb.ReadBlocksRequest, stream grpc.ServerStreamingServer[pb.BlockChunk]) error {
	dk, err := discoveryKey(req.DiscoveryKey)
	if err != nil {
		return toStatus(err)
	}
	blocks, err := s.impl.ReadBlocks(stream.Context(), dk, req.Start, req.End)
	if err != nil {
		return toStatus(err)
	}
	cur := &pb.BlockChunk{}
	chunks := []*pb.BlockChunk{cur}
	c := chunker{next: func() {
		cur = &pb.BlockChunk{}
		chunks = append(chunks, cur)
	}}
	for _, blk := range blocks {
		c.block(blk, func(p *pb.BlockPart) { cur.Blocks = append(cur.Blocks, p) })
	}
	for _, ch := range chunks {
		if err := stream.Send(ch); err != nil {
			return err
		}
	}
	return nil
}

func (s *server) ReadBlocksSmall(ctx context.Context, req *pb.ReadBlocksRequest) (*pb.ReadBlocksSmallResponse, error) {
	dk, err := discoveryKey(req.DiscoveryKey)
	if err != nil {
		return nil, toStatus(err)
	}
	blocks, err := s.impl.ReadBlocks(ctx, dk, req.Start, req.End)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &pb.ReadBlocksSmallResponse{Next: req.End}
	size := 0
	for _, blk := range blocks {
		if size+partOverhead+len(blk.Value) > chunkBytes {
			resp.Next = blk.Index // the rest goes by ReadBlocks
			break
		}
		resp.Blocks = append(resp.Blocks, &pb.BlockPart{Index: blk.Index, Value: blk.Value})
		size += partOverhead + len(blk.Value)
	}
	return resp, nil
}

func (s *server) ReadNodes(stream grpc.BidiStreamingServer[pb.ReadNodesRequest, pb.NodeChunk]) error {
	var (
		dk      [32]byte
		indexes []uint64
	)
	for first := true; ; first = false {
		req, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if first {
			if dk, err = discoveryKey(req.DiscoveryKey); err != nil {
				return toStatus(err)
			}
		}
		indexes = append(indexes, req.Indexes...)
	}
	nodes, err := s.impl.ReadNodes(stream.Context(), dk, indexes)
	if err != nil {
		return toStatus(err)
	}
	const perMsg = chunkBytes / nodeWireBytes
	for len(nodes) > 0 {
		n := min(len(nodes), perMsg)
		ch := &pb.NodeChunk{Nodes: make([]*pb.Node, n)}
		for i, node := range nodes[:n] {
			ch.Nodes[i] = nodeToProto(node)
		}
		nodes = nodes[n:]
		if err := stream.Send(ch); err != nil {
			return err
		}
	}
	return nil
}

// Commit reads the batch, then applies it under a context that ends when
// the host aborts the commit or the call ends.
func (s *server) Commit(stream grpc.BidiStreamingServer[pb.CommitChunk, pb.CommitResponse]) error {
	dk, b, err := batchFromChunks(stream.Recv)
	if err != nil {
		return toStatus(err)
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	go func() {
		// Returns on the host's abort, or with an error when the call ends.
		if _, err := stream.Recv(); err != io.EOF {
			cancel()
		}
	}()
	if err := s.impl.Commit(ctx, dk, b); err != nil {
		return toStatus(err)
	}
	return stream.Send(&pb.CommitResponse{})
}

func (s *server) List(_ *pb.ListRequest, stream grpc.ServerStreamingServer[pb.ListChunk]) error {
	dks, err := s.impl.List(stream.Context())
	if err != nil {
		return toStatus(err)
	}
	const perMsg = chunkBytes / keyWireBytes
	for len(dks) > 0 {
		n := min(len(dks), perMsg)
		ch := &pb.ListChunk{DiscoveryKeys: make([][]byte, n)}
		for i := range dks[:n] {
			ch.DiscoveryKeys[i] = dks[i][:]
		}
		dks = dks[n:]
		if err := stream.Send(ch); err != nil {
			return err
		}
	}
	return nil
}

func (s *server) Delete(ctx context.Context, req *pb.DeleteRequest) (*pb.DeleteResponse, error) {
	dk, err := discoveryKey(req.DiscoveryKey)
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.impl.Delete(ctx, dk); err != nil {
		return nil, toStatus(err)
	}
	return &pb.DeleteResponse{}, nil
}

func (s *server) Close(ctx context.Context, _ *pb.CloseRequest) (*pb.CloseResponse, error) {
	if err := s.impl.Close(ctx); err != nil {
		return nil, toStatus(err)
	}
	return &pb.CloseResponse{}, nil
}
