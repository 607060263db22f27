package plugins

import (
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// MaxMessageSize is the largest gRPC message a plugin process accepts and
// sends: a whole batch of values or blocks must fit in it. (gRPC's own
// default, 4 MiB, is smaller than a batch of a few large values.)
const MaxMessageSize = 256 << 20

// Serve serves plugins from this process until the host closes it, and then
// returns; the process should then exit with status 0. It is the whole main
// of a plugin process: `bridge plugin serve` calls it for the builtins, and
// an external plugin calls it from its main.
//
// Serve prints the handshake line on stdout, so nothing may write to stdout
// before it. After the handshake, stdout and stderr written through
// os.Stdout and os.Stderr are discarded; log with NewPluginLogger on the
// stderr captured before calling Serve. Run without a host, Serve explains
// that the program is a plugin and exits with status 1.
func Serve(plugins plugin.PluginSet) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugins,
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(MaxMessageSize), grpc.MaxSendMsgSize(MaxMessageSize),
				grpc.InitialWindowSize(windowSize), grpc.InitialConnWindowSize(windowSize),
				grpc.ReadBufferSize(bufferSize), grpc.WriteBufferSize(bufferSize))
			return grpc.NewServer(opts...)
		},
	})
}

// The HTTP/2 windows and socket buffers of the plugin connection, on both
// ends: large enough that a batch of a few hundred KiB crosses in one go,
// without waiting for window updates or flushing every 32 KiB.
const (
	windowSize = 4 << 20
	bufferSize = 256 << 10
)

var grpcDialOptions = []grpc.DialOption{
	grpc.WithInitialWindowSize(windowSize), grpc.WithInitialConnWindowSize(windowSize),
	grpc.WithReadBufferSize(bufferSize), grpc.WithWriteBufferSize(bufferSize),
}
