package storage

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/corebridge/corebridge/plugins/storage/proto"
)

// OldPlugin serves impl as a plugin built before ReadBlocksSmall existed:
// it answers it Unimplemented, and calls Refused each time.
type OldPlugin struct {
	Plugin
	Refused func()
}

func (p *OldPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterStorageServer(s, &oldServer{server: server{impl: p.Impl}, refused: p.Refused})
	return nil
}

type oldServer struct {
	server
	refused func()
}

func (o *oldServer) ReadBlocksSmall(context.Context, *pb.ReadBlocksRequest) (*pb.ReadBlocksSmallResponse, error) {
	o.refused()
	return nil, status.Error(codes.Unimplemented, "method ReadBlocksSmall not implemented")
}
