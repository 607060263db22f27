package storage

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/corebridge/corebridge/plugins"
	pb "github.com/corebridge/corebridge/plugins/storage/proto"
)

// PluginName is the name under which a storage plugin process serves its
// Backend in a go-plugin plugin set.
const PluginName = string(plugins.KindStorage)

// Plugin is the go-plugin glue of the storage kind. In a plugin process,
// Impl is the Backend to serve; on the host, Impl is unused and the
// dispensed value is a Backend that calls the process.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Backend
}

var _ plugin.GRPCPlugin = (*Plugin)(nil)

// GRPCServer registers the storage service of p.Impl.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterStorageServer(s, &server{impl: p.Impl})
	return nil
}

// GRPCClient returns a Backend that calls the plugin over c.
func (p *Plugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &client{rpc: pb.NewStorageClient(c)}, nil
}
