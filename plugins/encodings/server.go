package encodings

import (
	"context"

	pb "github.com/corebridge/corebridge/plugins/encodings/proto"
)

// server serves an Encoding to the host over gRPC, in the plugin process.
type server struct {
	pb.UnimplementedEncodingServer
	impl Encoding
}

func (s *server) Info(ctx context.Context, _ *pb.InfoRequest) (*pb.InfoResponse, error) {
	info, err := s.impl.Info(ctx)
	if err != nil {
		return nil, errorTable.ToStatus(err)
	}
	return &pb.InfoResponse{Name: info.Name, Formats: formatsToProto(info.Formats), Verbatim: formatsToProto(info.Verbatim)}, nil
}

func (s *server) Encode(ctx context.Context, req *pb.EncodeRequest) (*pb.EncodeResponse, error) {
	blocks, err := s.impl.Encode(ctx, Format(req.GetFormat()), req.GetValues())
	if err != nil {
		return nil, errorTable.ToStatus(err)
	}
	return &pb.EncodeResponse{Blocks: blocks}, nil
}

func (s *server) Decode(ctx context.Context, req *pb.DecodeRequest) (*pb.DecodeResponse, error) {
	values, err := s.impl.Decode(ctx, Format(req.GetFormat()), req.GetBlocks())
	if err != nil {
		return nil, errorTable.ToStatus(err)
	}
	return &pb.DecodeResponse{Values: values}, nil
}
