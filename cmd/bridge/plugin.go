package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/corebridge/corebridge/plugins"
	"github.com/corebridge/corebridge/plugins/builtin"
)

// pluginCommand is the hidden `bridge plugin serve <kind> <name>`: the
// bridge binary run as one of its own builtin plugins. The host starts it;
// nothing may be written to stdout before the plugin handshake.
func pluginCommand() command {
	return command{
		name:    "plugin",
		args:    "serve encoding|storage NAME",
		summary: "serve a builtin plugin (started by the bridge itself)",
		hidden:  true,
		help: `
Plugin serves one of the bridge's builtin plugins over go-plugin's gRPC
protocol. The bridge starts it as a child process; running it by hand only
prints go-plugin's refusal, since the handshake cookie is missing.
`,
		run: runPlugin,
	}
}

func runPlugin(ctx context.Context, s streams, fs *flag.FlagSet, args []string) int {
	if len(args) != 3 || args[0] != "serve" {
		return pluginCommand().badArgs(s, fs, args)
	}
	return servePlugin(ctx, plugins.Kind(args[1]), args[2])
}

// servePlugin serves the builtin kind/name and returns the exit code.
func servePlugin(ctx context.Context, kind plugins.Kind, name string) int {
	if err := builtin.Serve(ctx, kind, name); err != nil {
		fmt.Fprintf(os.Stderr, "bridge plugin: %v\n", err)
		return exitFail
	}
	return exitOK
}
