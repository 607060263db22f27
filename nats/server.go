package nats

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/corebridge/corebridge/config"
)

// ServerOptions turns the configuration into the options of an embedded
// nats-server: client address, JetStream under cfg.DataDir (in
// <data_dir>/jetstream), max_payload from the value size limit, auth, TLS
// and cluster. Signals are left to the bridge. It reads the NKey seed
// file, if any, to learn the public key clients must sign with.
func ServerOptions(cfg *config.Config) (*server.Options, error) {
	host, port, err := config.ParseListen(cfg.NATS.Listen)
	if err != nil {
		return nil, fmt.Errorf("nats.listen: %w", err)
	}
	opts := &server.Options{
		ServerName:             cfg.ServerName(),
		Host:                   host,
		Port:                   port,
		NoSigs:                 true,
		MaxPayload:             cfg.Limits.MaxPayload(),
		JetStream:              true,
		StoreDir:               cfg.DataDir,
		JetStreamMaxMemory:     cfg.JetStream.MaxMemory,
		JetStreamMaxStore:      cfg.JetStream.MaxStorage,
		DisableJetStreamBanner: true,
	}
	n := cfg.NATS
	switch {
	case n.User != "":
		opts.Username, opts.Password = n.User, n.Password
	case n.Token != "":
		opts.Authorization = n.Token
	case n.NKeySeedFile != "":
		pub, err := nkeyPublicKey(n.NKeySeedFile)
		if err != nil {
			return nil, err
		}
		opts.Nkeys = []*server.NkeyUser{{Nkey: pub}}
	}
	if n.TLS.Enabled() {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{
			CertFile: n.TLS.Cert,
			KeyFile:  n.TLS.Key,
			CaFile:   n.TLS.CA,
			Verify:   n.TLS.Verify,
		})
		if err != nil {
			return nil, fmt.Errorf("nats.tls: %w", err)
		}
		opts.TLS, opts.TLSConfig, opts.TLSVerify = true, tc, n.TLS.Verify
		opts.TLSTimeout = 2
	}
	if cl := n.Cluster; cl != nil {
		chost, cport, err := config.ParseListen(cl.Listen)
		if err != nil {
			return nil, fmt.Errorf("nats.cluster.listen: %w", err)
		}
		opts.Cluster = server.ClusterOpts{Name: cl.Name, Host: chost, Port: cport}
		for _, r := range cl.Routes {
			u, err := url.Parse(strings.TrimSpace(r))
			if err != nil {
				return nil, fmt.Errorf("nats.cluster.routes: %w", err)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	return opts, nil
}

// nkeyPublicKey reads a user NKey seed file and returns its public key.
func nkeyPublicKey(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("nats.nkey_seed_file: %w", err)
	}
	kp, err := nkeys.ParseDecoratedNKey(b)
	if err != nil {
		return "", fmt.Errorf("nats.nkey_seed_file %s: %w", path, err)
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil {
		return "", fmt.Errorf("nats.nkey_seed_file %s: %w", path, err)
	}
	if !nkeys.IsValidPublicUserKey(pub) {
		return "", fmt.Errorf("nats.nkey_seed_file %s holds no user seed (SU...)", path)
	}
	return pub, nil
}

// StartServer starts an embedded nats-server with opts, logging through
// log, and waits until it accepts clients or timeout passes. If it does
// not become ready, or ctx ends first, the server is shut down and the
// error says why (the server's own fatal message when there is one, such
// as an address already in use).
func StartServer(ctx context.Context, opts *server.Options, log *slog.Logger, timeout time.Duration) (*server.Server, error) {
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats-server: %w", err)
	}
	sl := newServerLogger(log)
	srv.SetLoggerV2(sl, log.Enabled(ctx, slog.LevelDebug), log.Enabled(ctx, LevelTrace), false)
	srv.Start()

	fail := func(err error) (*server.Server, error) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, err
	}
	addr := net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port))
	deadline := time.Now().Add(timeout)
	for {
		select {
		case msg := <-sl.fatal:
			return fail(fmt.Errorf("embedded nats-server on %s: %s", addr, msg))
		case <-ctx.Done():
			return fail(fmt.Errorf("embedded nats-server: %w", ctx.Err()))
		default:
		}
		// JetStream is enabled inside Start, so a ready server has it on.
		if srv.ReadyForConnections(50 * time.Millisecond) {
			return srv, nil
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("embedded nats-server on %s was not ready for connections within %s", addr, timeout))
		}
	}
}
