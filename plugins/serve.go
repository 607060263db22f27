package plugins

import "github.com/hashicorp/go-plugin"

// Serve serves plugins from this process until the host closes it, and then
// exits. It is the whole main of a plugin process: `bridge plugin serve`
// calls it for the builtins, and an external plugin calls it from its main.
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
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
