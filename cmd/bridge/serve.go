package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/corebridge/corebridge/config"
	"github.com/corebridge/corebridge/nats"
	"github.com/corebridge/corebridge/plugins"
	"github.com/corebridge/corebridge/plugins/builtin"
)

// shutdownTimeout bounds draining and stopping after a stop signal.
const shutdownTimeout = 30 * time.Second

func serveCommand() command {
	return command{
		name:    "serve",
		args:    "[-config FILE]",
		summary: "run the bridge until SIGINT or SIGTERM",
		help: `
Serve runs a bridge: it starts an embedded nats-server with JetStream (or
connects to the NATS in nats.url), checks that JetStream works, logs
"bridge ready" with the NATS client URL, and serves until it receives SIGINT
or SIGTERM. Then it drains its NATS connection, stops the embedded server
and exits 0.

Without -config it runs with the defaults: store name "default", data in
./data, an embedded nats-server on 127.0.0.1:4222, plugins in ./plugins.
config.example.hcl documents every setting.

Logs go to stderr. The exit code is 1 when the configuration is wrong
(the error names file and line) or NATS cannot be used, 2 for a wrong
command line.
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("config", "", "read the configuration from `FILE` (HCL); default: none, use the defaults")
		},
		run: runServe,
	}
}

func runServe(ctx context.Context, s streams, fs *flag.FlagSet, args []string) int {
	if len(args) > 0 {
		return serveCommand().badArgs(s, fs, args)
	}
	cfg, err := config.Load(fs.Lookup("config").Value.String())
	if err != nil {
		printConfigError(s.stderr, err)
		return exitFail
	}
	log := newLogger(s.stderr, cfg)
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("bridge failed", "error", err)
		return exitFail
	}
	return exitOK
}

// serve runs the bridge described by cfg until ctx ends.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	defer plugins.CleanupAll()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	b, err := nats.StartBridge(ctx, cfg, nats.BridgeOptions{
		Logger: log, Encodings: builtin.Encodings(), Storage: builtin.Storage(),
		Version: moduleVersion(),
	})
	if err != nil && ctx.Err() != nil {
		// Asked to stop while starting: that is a clean stop.
		log.Info("bridge stopped before it was ready", "cause", context.Cause(ctx))
		return nil
	}
	if err != nil {
		return err
	}
	log.Info("bridge ready",
		"name", cfg.Name,
		"url", b.Conn.ClientURL(),
		"embedded", cfg.NATS.Embedded(),
		"data_dir", cfg.DataDir,
		"storage", cfg.Corestore.Storage,
		"compat", cfg.Corestore.Compat)

	<-ctx.Done()
	log.Info("bridge stopping", "cause", context.Cause(ctx))
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := b.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("bridge stopped")
	return nil
}

// printConfigError writes a configuration error, one diagnostic a line,
// each starting with file:line,column.
func printConfigError(w io.Writer, err error) {
	var diags hcl.Diagnostics
	if !errors.As(err, &diags) {
		fmt.Fprintf(w, "bridge: %v\n", err)
		return
	}
	for _, d := range diags {
		fmt.Fprintf(w, "bridge: %s\n", d.Error())
	}
}

// newLogger logs to w at the configured level and format.
func newLogger(w io.Writer, cfg *config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
