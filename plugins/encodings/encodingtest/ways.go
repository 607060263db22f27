package encodingtest

import (
	"context"
	"testing"
	"time"

	"github.com/corebridge/corebridge/plugins"
	"github.com/corebridge/corebridge/plugins/encodings"
	"github.com/hashicorp/go-plugin"
)

// GRPC returns an Encoding that reaches impl through the real gRPC client
// and server shims, in this process (go-plugin's TestPluginGRPCConn). The
// connection is closed when t ends.
func GRPC(t testing.TB, impl encodings.Encoding) encodings.Encoding {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, encodings.PluginSet(impl))
	// Closing the client asks the server to stop, too.
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(string(plugins.KindEncoding))
	if err != nil {
		t.Fatalf("dispense: %v", err)
	}
	e, ok := raw.(encodings.Encoding)
	if !ok {
		t.Fatalf("dispensed %T, not an Encoding", raw)
	}
	return e
}

// Process starts cmd as a supervised encoding plugin process and returns
// the Encoding it serves. The process is killed when t ends. Its logs go to
// t.Log.
func Process(t testing.TB, cmd plugins.Command) encodings.Encoding {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e, closer, err := encodings.Open(ctx, encodings.Spec{Name: cmd.Name, Command: &cmd}, TestLogger(t))
	if err != nil {
		t.Fatalf("open %s: %v", cmd, err)
	}
	t.Cleanup(func() { closer.Close() })
	return e
}
