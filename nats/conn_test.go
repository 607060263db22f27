package nats

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/corebridge/corebridge/config"
)

// useJetStream creates a replication stream, publishes one message twice
// under one id and reads it back: what the bridge will do.
func useJetStream(t *testing.T, js jetstream.JetStream, replicas int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var s Subjects
	cfg := config.Default()
	cfg.JetStream.Replicas = replicas
	created, err := js.CreateStream(ctx, StreamConfig(cfg, s))
	if err != nil {
		t.Fatalf("create stream: %v", err)
	}
	if got := created.CachedInfo().Config; got.Name != DefaultStream || got.Replicas != replicas ||
		got.Duplicates != config.DefaultDuplicateWindow || got.Subjects[0] != "hc.repl.>" {
		t.Errorf("stream config = %+v", got)
	}
	subj := s.Replication(mustHexKey(t, idVectors[0].hex))
	for range 2 {
		if _, err := js.Publish(ctx, subj, []byte("batch-0"), jetstream.WithMsgID("fork0-0")); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	str, err := js.Stream(ctx, DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("stream holds %d messages after a duplicate publish, want 1", info.State.Msgs)
	}
	msg, err := str.GetLastMsgForSubject(ctx, subj)
	if err != nil || string(msg.Data) != "batch-0" {
		t.Errorf("last message = %v, %v", msg, err)
	}
}

func TestEmbeddedServer(t *testing.T) {
	cfg := testConfig(t)
	c, err := Connect(t.Context(), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server() == nil {
		t.Fatal("no embedded server")
	}
	if fi, err := os.Stat(filepath.Join(cfg.DataDir, "jetstream")); err != nil || !fi.IsDir() {
		t.Errorf("JetStream store not in data_dir/jetstream: %v", err)
	}
	if got := c.Server().Name(); got != "test" {
		t.Errorf("server name = %q, want the bridge name", got)
	}
	if !strings.HasPrefix(c.ClientURL(), "nats://127.0.0.1:") || strings.HasSuffix(c.ClientURL(), ":-1") {
		t.Errorf("ClientURL = %q, want nats://127.0.0.1:<port>", c.ClientURL())
	}
	useJetStream(t, c.JetStream(), 1)

	// Another client reaches the server over the network and sees the
	// bridge's stream.
	other, err := natsgo.Connect(c.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	js, err := jetstream.New(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Stream(t.Context(), DefaultStream); err != nil {
		t.Errorf("other client cannot see the stream: %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := c.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if c.Server().Running() {
		t.Error("embedded server still running after Shutdown")
	}
	if !c.NATS().IsClosed() {
		t.Error("connection not closed after Shutdown")
	}
	if err := c.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if _, err := natsgo.Connect(c.ClientURL(), natsgo.Timeout(time.Second)); err == nil {
		t.Error("server still accepts clients after Shutdown")
	}
}

func TestEmbeddedServerMaxPayload(t *testing.T) {
	cfg := testConfig(t)
	cfg.Limits.MaxValueSize = 4 << 20
	c := connectEmbedded(t, cfg)
	if got := c.NATS().MaxPayload(); got < 4<<20 {
		t.Fatalf("server max_payload = %d, below limits.max_value_size %d", got, 4<<20)
	}
	sub, err := c.NATS().SubscribeSync("big")
	if err != nil {
		t.Fatal(err)
	}
	value := bytes.Repeat([]byte{'v'}, 4<<20)
	if err := c.NATS().Publish("big", value); err != nil {
		t.Fatalf("publish a value of the largest allowed size: %v", err)
	}
	msg, err := sub.NextMsg(10 * time.Second)
	if err != nil || len(msg.Data) != len(value) {
		t.Fatalf("receive the largest value: %v", err)
	}
}

// TestEmbeddedServerAuth checks that each way of authenticating shuts out
// clients without the credentials and lets the right ones in, and that the
// bridge's own connection uses them.
func TestEmbeddedServerAuth(t *testing.T) {
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := user.Seed()
	if err != nil {
		t.Fatal(err)
	}
	seedFile := filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	other, _ := nkeys.CreateUser()
	otherSeed, _ := other.Seed()
	otherFile := filepath.Join(t.TempDir(), "other.nk")
	if err := os.WriteFile(otherFile, otherSeed, 0o600); err != nil {
		t.Fatal(err)
	}
	nkeyOpt := func(file string) natsgo.Option {
		o, err := natsgo.NkeyOptionFromSeed(file)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}

	tests := []struct {
		name  string
		set   func(n *config.NATS)
		right natsgo.Option
		wrong natsgo.Option
	}{
		{
			name: "user and password",
			set: func(n *config.NATS) {
				n.User, n.Password = "bridge", "s3cret"
			},
			right: natsgo.UserInfo("bridge", "s3cret"),
			wrong: natsgo.UserInfo("bridge", "guess"),
		},
		{
			name:  "token",
			set:   func(n *config.NATS) { n.Token = "t0ken" },
			right: natsgo.Token("t0ken"),
			wrong: natsgo.Token("other"),
		},
		{
			name:  "nkey",
			set:   func(n *config.NATS) { n.NKeySeedFile = seedFile },
			right: nkeyOpt(seedFile),
			wrong: nkeyOpt(otherFile),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			tt.set(&cfg.NATS)
			c := connectEmbedded(t, cfg)
			useJetStream(t, c.JetStream(), 1)

			for _, opts := range [][]natsgo.Option{nil, {tt.wrong}} {
				nc, err := natsgo.Connect(c.ClientURL(), opts...)
				if err == nil {
					nc.Close()
					t.Fatalf("a client with options %v connected to a server that requires %s", opts, tt.name)
				}
				if !errors.Is(err, natsgo.ErrAuthorization) {
					t.Errorf("rejected client error = %v, want authorization violation", err)
				}
			}
			nc, err := natsgo.Connect(c.ClientURL(), tt.right)
			if err != nil {
				t.Fatalf("client with the right credentials: %v", err)
			}
			nc.Close()
		})
	}
}

func TestEmbeddedServerTLS(t *testing.T) {
	certs := makeCerts(t)
	cfg := testConfig(t)
	cfg.NATS.TLS.Cert, cfg.NATS.TLS.Key = certs.ServerCert, certs.ServerKey
	cfg.NATS.TLS.CA, cfg.NATS.TLS.Verify = certs.CA, true
	c := connectEmbedded(t, cfg)
	useJetStream(t, c.JetStream(), 1)
	if !strings.HasPrefix(c.ClientURL(), "tls://") {
		t.Errorf("ClientURL = %q, want tls://", c.ClientURL())
	}

	// A client without a certificate is refused; one with it gets in.
	if nc, err := natsgo.Connect(c.ClientURL(), natsgo.RootCAs(certs.CA), natsgo.Timeout(2*time.Second)); err == nil {
		nc.Close()
		t.Error("a client without a certificate connected to a server with verify = true")
	}
	nc, err := natsgo.Connect(c.ClientURL(), natsgo.RootCAs(certs.CA), natsgo.ClientCert(certs.ClientCert, certs.ClientKey))
	if err != nil {
		t.Fatalf("client with certificate: %v", err)
	}
	nc.Close()

	// A second bridge reaches the first as an existing NATS over TLS.
	ext := testConfig(t)
	ext.NATS.URL = c.ClientURL()
	ext.NATS.TLS = config.TLS{Cert: certs.ClientCert, Key: certs.ClientKey, CA: certs.CA}
	c2 := connectEmbedded(t, ext)
	if c2.Server() != nil {
		t.Error("a bridge with nats.url started an embedded server")
	}
}

func TestExternalNATS(t *testing.T) {
	srv := runServer(t, &server.Options{JetStream: true, Username: "u", Password: "p"})
	cfg := testConfig(t)
	cfg.NATS.URL = srv.ClientURL()
	cfg.NATS.User, cfg.NATS.Password = "u", "p"
	c := connectEmbedded(t, cfg)
	if c.Server() != nil {
		t.Error("Server() is not nil for an existing NATS")
	}
	if c.ClientURL() != srv.ClientURL() {
		t.Errorf("ClientURL = %q, want %q", c.ClientURL(), srv.ClientURL())
	}
	useJetStream(t, c.JetStream(), 1)
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "jetstream")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a bridge on an existing NATS made a JetStream store: %v", err)
	}
	// Shutdown leaves the existing server running.
	if err := c.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !srv.Running() {
		t.Error("Shutdown stopped a server the bridge did not start")
	}
}

func TestExternalNATSWithoutJetStream(t *testing.T) {
	srv := runServer(t, &server.Options{})
	cfg := testConfig(t)
	cfg.NATS.URL = srv.ClientURL()
	start := time.Now()
	c, err := Connect(t.Context(), cfg, testLogger(t))
	if err == nil {
		c.Shutdown(t.Context())
		t.Fatal("Connect succeeded against a NATS without JetStream")
	}
	for _, want := range []string{srv.ClientURL(), "JetStream is not enabled"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if !errors.Is(err, jetstream.ErrJetStreamNotEnabled) {
		t.Errorf("error %v does not wrap jetstream.ErrJetStreamNotEnabled", err)
	}
	if d := time.Since(start); d > cfg.NATS.StartTimeout/2 {
		t.Errorf("took %s to report JetStream off; it should not wait for the timeout", d)
	}
}

func TestExternalNATSErrors(t *testing.T) {
	small := runServer(t, &server.Options{JetStream: true, MaxPayload: 1024})
	auth := runServer(t, &server.Options{JetStream: true, Authorization: "right"})
	tests := []struct {
		name string
		url  string
		tok  string
		want []string
	}{
		{"unreachable", fmt.Sprintf("nats://127.0.0.1:%d", freePort(t)), "", []string{"connect to nats at nats://127.0.0.1:", "no servers available"}},
		{"max payload", small.ClientURL(), "", []string{"takes messages of at most 1024 bytes", "limits.max_value_size (1048576)"}},
		{"wrong token", auth.ClientURL(), "wrong", []string{"connect to nats", "uthorization"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.NATS.URL, cfg.NATS.Token = tt.url, tt.tok
			cfg.NATS.StartTimeout = 2 * time.Second
			c, err := Connect(t.Context(), cfg, testLogger(t))
			if err == nil {
				c.Shutdown(t.Context())
				t.Fatal("Connect succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestEmbeddedServerPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg := testConfig(t)
	cfg.NATS.Listen = l.Addr().String()
	start := time.Now()
	c, err := Connect(t.Context(), cfg, testLogger(t))
	if err == nil {
		c.Shutdown(t.Context())
		t.Fatal("Connect succeeded on a port already in use")
	}
	if !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), l.Addr().String()) {
		t.Errorf("error %q does not say the address is in use", err)
	}
	if d := time.Since(start); d > cfg.NATS.StartTimeout/2 {
		t.Errorf("took %s to report the port in use; it should not wait for the timeout", d)
	}
}

func TestConnectCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	c, err := Connect(ctx, testConfig(t), testLogger(t))
	if err == nil {
		c.Shutdown(t.Context())
		t.Fatal("Connect succeeded with a canceled context")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v does not wrap context.Canceled", err)
	}
}

func TestServerOptions(t *testing.T) {
	cfg := testConfig(t)
	cfg.Name = "bridge-a"
	cfg.NATS.Listen = "0.0.0.0:4333"
	cfg.Limits.MaxValueSize = 2 << 20
	cfg.JetStream.MaxMemory, cfg.JetStream.MaxStorage = 1<<30, 5<<30
	cfg.NATS.Cluster = &config.Cluster{Name: "prod", Listen: "10.0.0.1:6222", Routes: []string{"nats://b:6222"}}
	opts, err := ServerOptions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%s %s:%d sigs=%v js=%v store=%s mem=%d disk=%d payload=%d cluster=%s@%s:%d routes=%v",
		opts.ServerName, opts.Host, opts.Port, !opts.NoSigs, opts.JetStream, opts.StoreDir,
		opts.JetStreamMaxMemory, opts.JetStreamMaxStore, opts.MaxPayload,
		opts.Cluster.Name, opts.Cluster.Host, opts.Cluster.Port, opts.Routes)
	want := fmt.Sprintf("bridge-a 0.0.0.0:4333 sigs=false js=true store=%s mem=%d disk=%d payload=%d cluster=prod@10.0.0.1:6222 routes=[nats://b:6222]",
		cfg.DataDir, 1<<30, 5<<30, 2<<20+64<<10)
	if got != want {
		t.Errorf("ServerOptions:\n got %s\nwant %s", got, want)
	}

	cfg.NATS.NKeySeedFile = filepath.Join(t.TempDir(), "missing.nk")
	if _, err := ServerOptions(cfg); err == nil || !strings.Contains(err.Error(), "nats.nkey_seed_file") {
		t.Errorf("missing seed file: %v", err)
	}
	acct, _ := nkeys.CreateAccount()
	aseed, _ := acct.Seed()
	if err := os.WriteFile(cfg.NATS.NKeySeedFile, aseed, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ServerOptions(cfg); err == nil || !strings.Contains(err.Error(), "holds no user seed") {
		t.Errorf("account seed accepted as user seed: %v", err)
	}
}

func TestRedactURLs(t *testing.T) {
	got := redactURLs("nats://u:secret@a:4222, nats://t0ken@b:4222,tls://c:4222")
	want := "nats://u:xxxxx@a:4222,nats://xxxxx@b:4222,tls://c:4222"
	if got != want {
		t.Errorf("redactURLs = %q, want %q", got, want)
	}
}

// TestExternalNATSURLCredentials connects with credentials in the URL and
// checks they stay out of ClientURL, which the bridge logs.
func TestExternalNATSURLCredentials(t *testing.T) {
	srv := runServer(t, &server.Options{JetStream: true, Username: "u", Password: "secret"})
	cfg := testConfig(t)
	cfg.NATS.URL = strings.Replace(srv.ClientURL(), "nats://", "nats://u:secret@", 1)
	c := connectEmbedded(t, cfg)
	if strings.Contains(c.ClientURL(), "secret") {
		t.Errorf("ClientURL %q shows the password", c.ClientURL())
	}
}
