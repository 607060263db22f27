package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The echo plugin is a test plugin kind of this package's own. Its one
// method takes a command string:
//
//	pid         answers the plugin's pid
//	block       logs "blocking", then blocks until the call's context ends
//	fail        fails with errEcho
//	log:<msg>   logs msg at warn level with attribute n=7, answers "ok"
//	<other>     answers the same string
const echoKind Kind = "echo"

var errEcho = errors.New("echo failed")

var echoErrors = ErrorTable{{Err: errEcho, Code: 9 /* FailedPrecondition */, Reason: "ECHO_FAILED"}}

type echoer interface {
	Echo(ctx context.Context, s string) (string, error)
}

type echoImpl struct{ logger *slog.Logger }

func (e echoImpl) Echo(ctx context.Context, s string) (string, error) {
	switch {
	case s == "pid":
		return strconv.Itoa(os.Getpid()), nil
	case s == "block":
		if e.logger != nil {
			e.logger.Info("blocking")
		}
		<-ctx.Done()
		return "", ctx.Err()
	case s == "fail":
		return "", fmt.Errorf("echo %q: %w", s, errEcho)
	case strings.HasPrefix(s, "log:"):
		e.logger.Warn(strings.TrimPrefix(s, "log:"), "n", 7)
		return "ok", nil
	}
	return s, nil
}

type echoPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl echoer
}

func (p *echoPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	s.RegisterService(&echoServiceDesc, p.impl)
	return nil
}

func (p *echoPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return echoClient{c}, nil
}

type echoClient struct{ conn *grpc.ClientConn }

func (c echoClient) Echo(ctx context.Context, s string) (string, error) {
	out := new(wrapperspb.StringValue)
	if err := c.conn.Invoke(ctx, "/corebridge.test.Echo/Echo", wrapperspb.String(s), out); err != nil {
		return "", echoErrors.FromStatus(err)
	}
	return out.GetValue(), nil
}

var echoServiceDesc = grpc.ServiceDesc{
	ServiceName: "corebridge.test.Echo",
	HandlerType: (*echoer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Echo",
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.StringValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			out, err := srv.(echoer).Echo(ctx, in.GetValue())
			if err != nil {
				return nil, echoErrors.ToStatus(err)
			}
			return wrapperspb.String(out), nil
		},
	}},
}

// serveTestPlugin is what the test binary does when TestCommand started it.
func serveTestPlugin(name string) {
	switch name {
	case "echo":
		logger := NewPluginLogger(os.Stderr, LevelTrace)
		Serve(plugin.PluginSet{string(echoKind): &echoPlugin{impl: echoImpl{logger}}})
		os.Exit(0)
	case "hang":
		// Never completes the handshake.
		select {}
	case "chatty":
		// Breaks the rule: prints on stdout before the handshake.
		fmt.Println("hello")
		Serve(plugin.PluginSet{string(echoKind): &echoPlugin{impl: echoImpl{}}})
	}
	os.Exit(2)
}
