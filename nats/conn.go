package nats

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/corebridge/corebridge/config"
)

// Conn is a bridge's link to NATS: a client connection whose JetStream
// was found usable at start, and the embedded nats-server when the bridge
// runs one. Its methods are safe for concurrent use.
type Conn struct {
	nc     *natsgo.Conn
	js     jetstream.JetStream
	srv    *server.Server // nil when connected to an existing NATS
	url    string
	log    *slog.Logger
	closed chan struct{} // closed once nc is closed

	shutdownOnce sync.Once
	shutdownErr  error
}

// Connect starts an embedded nats-server or connects to the existing NATS
// that cfg names, then checks that JetStream answers. Everything waits at
// most cfg.NATS.StartTimeout. On error nothing is left running, and the
// error says what was not usable. The connection reconnects forever and
// logs disconnects and reconnects to log.
func Connect(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Conn, error) {
	c := &Conn{log: log, closed: make(chan struct{})}
	timeout := cfg.NATS.StartTimeout
	opts, err := clientOptions(cfg, log, c.closed)
	if err != nil {
		return nil, err
	}
	if cfg.NATS.Embedded() {
		sopts, err := ServerOptions(cfg)
		if err != nil {
			return nil, err
		}
		c.srv, err = StartServer(ctx, sopts, log.With("component", "nats-server"), timeout)
		if err != nil {
			return nil, err
		}
		c.url = c.srv.ClientURL()
		// The bridge's own client talks to its server in process; the URL
		// only fills nats.go's server list, so it must not ask for TLS.
		opts = append(opts, natsgo.InProcessServer(c.srv))
		c.nc, err = natsgo.Connect(inProcessURL(c.url), opts...)
	} else {
		c.url = redactURLs(cfg.NATS.URL)
		c.nc, err = natsgo.Connect(cfg.NATS.URL, opts...)
	}
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("connect to nats at %s: %w", c.url, err)
	}
	if err := c.check(ctx, cfg, timeout); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// redactURLs hides passwords and tokens in a comma-separated URL list, for
// logs and errors.
func redactURLs(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			parts[i] = "<unparsable url>"
			continue
		}
		if u.User != nil {
			if _, hasPassword := u.User.Password(); !hasPassword {
				u.User = url.User("xxxxx") // a lone token
			}
		}
		parts[i] = u.Redacted()
	}
	return strings.Join(parts, ",")
}

// inProcessURL is the server URL with the nats scheme.
func inProcessURL(clientURL string) string {
	u, err := url.Parse(clientURL)
	if err != nil {
		return natsgo.DefaultURL
	}
	u.Scheme = "nats"
	return u.String()
}

func clientOptions(cfg *config.Config, log *slog.Logger, closed chan struct{}) ([]natsgo.Option, error) {
	n := cfg.NATS
	opts := []natsgo.Option{
		natsgo.Name("corebridge " + cfg.Name),
		natsgo.Timeout(n.StartTimeout),
		natsgo.MaxReconnects(-1),
		natsgo.DisconnectErrHandler(func(nc *natsgo.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "url", nc.ConnectedUrlRedacted(), "error", err)
			}
		}),
		natsgo.ReconnectHandler(func(nc *natsgo.Conn) {
			log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		natsgo.ClosedHandler(func(*natsgo.Conn) { close(closed) }),
		natsgo.ErrorHandler(func(_ *natsgo.Conn, sub *natsgo.Subscription, err error) {
			if sub != nil {
				log.Error("nats async error", "subject", sub.Subject, "error", err)
				return
			}
			log.Error("nats async error", "error", err)
		}),
	}
	switch {
	case n.User != "":
		opts = append(opts, natsgo.UserInfo(n.User, n.Password))
	case n.Token != "":
		opts = append(opts, natsgo.Token(n.Token))
	case n.NKeySeedFile != "":
		o, err := natsgo.NkeyOptionFromSeed(n.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("nats.nkey_seed_file: %w", err)
		}
		opts = append(opts, o)
	case n.CredentialsFile != "":
		opts = append(opts, natsgo.UserCredentials(n.CredentialsFile))
	}
	if !n.Embedded() {
		t := n.TLS
		if t.Insecure {
			opts = append(opts, natsgo.Secure(&tls.Config{InsecureSkipVerify: true}))
		}
		if t.Cert != "" {
			opts = append(opts, natsgo.ClientCert(t.Cert, t.Key))
		}
		if t.CA != "" {
			opts = append(opts, natsgo.RootCAs(t.CA))
		}
	}
	return opts, nil
}

// check makes sure the connection can carry the bridge: JetStream answers
// and the server takes values as large as the configured limit.
func (c *Conn) check(ctx context.Context, cfg *config.Config, timeout time.Duration) error {
	if max := c.nc.MaxPayload(); max < cfg.Limits.MaxValueSize {
		return fmt.Errorf("the NATS server at %s takes messages of at most %d bytes, less than limits.max_value_size (%d); raise its max_payload or lower the limit",
			c.url, max, cfg.Limits.MaxValueSize)
	}
	js, err := jetstream.New(c.nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	if err := waitJetStream(ctx, js, timeout, c.srv != nil); err != nil {
		return fmt.Errorf("the NATS server at %s cannot be used: %w", c.url, err)
	}
	c.js = js
	return nil
}

// waitJetStream asks for the account's JetStream info until it comes or
// timeout passes, and then reports the last error. A server that says
// JetStream is off is believed at once, unless the bridge started it with
// JetStream on (embedded), where a starting cluster may say so until it
// has elected a leader.
func waitJetStream(ctx context.Context, js jetstream.JetStream, timeout time.Duration, embedded bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	retry := time.NewTicker(100 * time.Millisecond)
	defer retry.Stop()
	var last error
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.AccountInfo(attempt)
		cancelAttempt()
		if err == nil {
			return nil
		}
		off := errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount)
		if off && !embedded {
			return fmt.Errorf("JetStream is not enabled for this account (the bridge replicates cores through it; run nats-server with -js or a jetstream {} block): %w", err)
		}
		if last == nil || ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if err := context.Cause(ctx); !errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("waiting for JetStream: %w", err)
			}
			return fmt.Errorf("JetStream did not answer within %s: %w", timeout, last)
		case <-retry.C:
		}
	}
}

// NATS returns the client connection. Publish and subscribe on it freely;
// do not close or drain it, [Conn.Shutdown] does.
func (c *Conn) NATS() *natsgo.Conn { return c.nc }

// JetStream returns the JetStream context of the connection.
func (c *Conn) JetStream() jetstream.JetStream { return c.js }

// Server returns the embedded server, or nil when the bridge connected to
// an existing NATS.
func (c *Conn) Server() *server.Server { return c.srv }

// ClientURL is where other clients reach the bridge's NATS: the embedded
// server's client address, or the configured URL with any password or
// token in it hidden, so it is safe to log.
func (c *Conn) ClientURL() string { return c.url }

// Shutdown drains the connection (pending replies and publishes are
// flushed, subscriptions finish their messages), then shuts the embedded
// server down and waits for it. If ctx ends first the connection is
// closed at once and the server is shut down without waiting, and the
// error says so. Calling it again returns the first call's result.
func (c *Conn) Shutdown(ctx context.Context) error {
	c.shutdownOnce.Do(func() { c.shutdownErr = c.shutdown(ctx) })
	return c.shutdownErr
}

func (c *Conn) shutdown(ctx context.Context) error {
	var errs []error
	switch err := c.nc.Drain(); {
	case errors.Is(err, natsgo.ErrConnectionReconnecting):
		// NATS is out of reach, so there is nothing to flush to it:
		// Drain has closed the connection at once.
		c.log.Warn("nats was unreachable at shutdown; connection closed without draining")
	case err != nil && !errors.Is(err, natsgo.ErrConnectionClosed):
		errs = append(errs, fmt.Errorf("drain nats connection: %w", err))
	}
	select {
	case <-c.closed:
	case <-ctx.Done():
		c.nc.Close()
		errs = append(errs, fmt.Errorf("drain nats connection: %w", ctx.Err()))
	}
	if c.srv != nil {
		done := make(chan struct{})
		go func() {
			c.srv.Shutdown()
			c.srv.WaitForShutdown()
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("shut down embedded nats-server: %w", ctx.Err()))
		}
	}
	return errors.Join(errs...)
}

// stop undoes a partial Connect.
func (c *Conn) stop() {
	if c.nc != nil {
		c.nc.Close()
	}
	if c.srv != nil {
		c.srv.Shutdown()
		c.srv.WaitForShutdown()
	}
}
