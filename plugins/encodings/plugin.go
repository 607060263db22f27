package encodings

import (
	"context"

	"github.com/corebridge/corebridge/plugins"
	pb "github.com/corebridge/corebridge/plugins/encodings/proto"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// Plugin is the go-plugin glue of the encoding kind. In a plugin process,
// Impl is the encoding it serves; on the host, Impl is unused and the
// dispensed value is an Encoding that calls the process.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Encoding
}

var _ plugin.GRPCPlugin = (*Plugin)(nil)

// GRPCServer registers Impl's gRPC server.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterEncodingServer(s, &server{impl: p.Impl})
	return nil
}

// GRPCClient returns an Encoding that calls the plugin process over c.
func (p *Plugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &client{rpc: pb.NewEncodingClient(c)}, nil
}

// PluginSet is the plugin set of a process that serves e.
func PluginSet(e Encoding) plugin.PluginSet {
	return plugin.PluginSet{string(plugins.KindEncoding): &Plugin{Impl: e}}
}

// Serve serves e from this process until the host closes it, and then
// returns. It is the whole main of an external encoding plugin:
//
//	func main() { encodings.Serve(myEncoding{}) }
func Serve(e Encoding) {
	plugins.Serve(PluginSet(e))
}
