package nats

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/corebridge/corebridge/config"
	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/corestore"
)

// Security: who may append, what the replication stream shows, what the
// logs never show, and NATS authentication of a whole bridge. NKey and TLS
// for the embedded and the external server are tested in conn_test.go
// (TestEmbeddedServerAuth, TestEmbeddedServerTLS, TestExternalNATS*);
// forged replication messages in repl_test.go
// (TestReplicationRejectsForgeries); appends answered only by the owner in
// badinput_test.go (TestServiceAppendOnlyOwner).

// appendSubscribers returns the names of the connections subscribed to a
// core's append subject on srv.
func appendSubscribers(t *testing.T, srv *server.Server, key string) []string {
	t.Helper()
	subj := Subjects{}.CoreAppend(mustHexKey(t, key))
	connz, err := srv.Connz(&server.ConnzOptions{Subscriptions: true, SubscriptionsDetail: true, Limit: 1024})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range connz.Conns {
		for _, s := range c.SubsDetail {
			if s.Subject == subj {
				names = append(names, c.Name)
			}
		}
	}
	return names
}

// TestOnlyOwnerSubscribesToAppend looks at the server's own list of
// subscriptions: a core's append subject has exactly one subscriber, the
// bridge holding its secret key, also after the follower restarts and
// loads the core from its storage; with the owner gone it has none. The
// follower's own session of the core refuses appends.
func TestOnlyOwnerSubscribesToAppend(t *testing.T) {
	p := newReplPair(t)
	w := getInfo(t, p.nc, "w", `{"name":"owned","valueEncoding":"json"}`)
	appendN(t, p.nc, w.Key, 0, 3)
	getInfo(t, p.nc, "r", fmt.Sprintf(`{"key":%q}`, w.Key))
	waitLength(t, localCore(t, p.read, w.Key), 3)
	if got := appendSubscribers(t, p.srv, w.Key); len(got) != 1 || got[0] != "corebridge w" {
		t.Fatalf("append subscribers %q, want only the owner's connection", got)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := p.read.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	again := startBridge(t, p.rcfg)
	rc := localCore(t, again, w.Key)
	if rc.Length() != 3 {
		t.Fatalf("the restarted follower holds %d blocks, want 3", rc.Length())
	}
	if got := appendSubscribers(t, p.srv, w.Key); len(got) != 1 || got[0] != "corebridge w" {
		t.Fatalf("after the follower restarted, append subscribers %q, want only the owner's", got)
	}
	if _, err := rc.Append(ctx, [][]byte{[]byte(`"forged"`)}); !errors.Is(err, core.ErrNotWritable) {
		t.Errorf("append on the follower's session: %v, want ErrNotWritable", err)
	}

	if err := p.writer.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := appendSubscribers(t, p.srv, w.Key); len(got) != 0 {
		t.Fatalf("with the owner gone, append subscribers %q", got)
	}
	if _, err := p.nc.Request("core."+w.Key+".append", []byte(`1`), 5*time.Second); !errors.Is(err, natsgo.ErrNoResponders) {
		t.Errorf("append with the owner gone: %v, want no responders", err)
	}
}

// secretForms are the ways a secret could be written into a log line or a
// message: raw, hex in both cases, z-base-32, and base64.
func secretForms(b []byte) [][]byte {
	h := hex.EncodeToString(b)
	return [][]byte{
		b, []byte(h), []byte(strings.ToUpper(h)), []byte(core.EncodeZ32(b)),
		[]byte(base64.StdEncoding.EncodeToString(b)), []byte(base64.RawURLEncoding.EncodeToString(b)),
	}
}

// leaks returns a description of each form of each secret found in hay.
func leaks(hay []byte, secrets map[string][]byte) []string {
	var out []string
	for name, s := range secrets {
		for i, form := range secretForms(s) {
			if bytes.Contains(hay, form) {
				out = append(out, fmt.Sprintf("%s (form %d: %.24q...)", name, i, form))
			}
		}
	}
	return out
}

// TestReplicationStreamHidesSecrets reads every message of the stream, as
// a NATS operator could, after three cores of each encoding were written
// and followed: no subject, header or payload carries a core key, a
// signer's public key (it gives the core key), the primary key or a value
// in the clear, and every payload opens only with its own core's key.
func TestReplicationStreamHidesSecrets(t *testing.T) {
	p := newReplPair(t)
	secrets := map[string][]byte{}
	pk := p.writer.Store.PrimaryKey()
	secrets["primary key"] = pk[:]
	var plain [][]byte
	ciphers := map[string]*replCipher{}
	for i, enc := range []string{"json", "binary", "msgpack"} {
		name := fmt.Sprintf("hidden-%d", i)
		w := getInfo(t, p.nc, "w", fmt.Sprintf(`{"name":%q,"valueEncoding":%q}`, name, enc))
		key := mustHexKey(t, w.Key)
		secrets["core key "+name] = key[:]
		kp := corestore.DeriveKeyPair(pk, p.writer.Store.NamespaceKey(), []byte(name))
		secrets["public key "+name] = kp.PublicKey
		secrets["secret key "+name] = kp.SecretKey
		ciphers[Subjects{}.Replication(core.DiscoveryKey(key))] = newReplCipher(key)
		value := fmt.Sprintf(`"plain text value number %d"`, i)
		plain = append(plain, []byte(strings.Trim(value, `"`)))
		frames := AppendFrames(nil, []byte(value), []byte(value))
		hdr := []string{HeaderBatch, BatchFrames}
		if enc == "msgpack" {
			hdr = append(hdr, HeaderFormat, "json")
		}
		request(t, p.nc, "core."+w.Key+".append", frames, hdr...)
		getInfo(t, p.nc, "r", fmt.Sprintf(`{"key":%q}`, w.Key))
		waitLength(t, localCore(t, p.read, w.Key), 2)
	}

	js, err := jetstream.New(p.nc)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.OrderedConsumer(t.Context(), DefaultStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.NumPending < 3 {
		t.Fatalf("the stream holds %d messages, want one per core at least", info.NumPending)
	}
	for n := uint64(0); n < info.NumPending; n++ {
		m, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var seen bytes.Buffer
		seen.WriteString(m.Subject())
		for k, vs := range m.Headers() {
			fmt.Fprintf(&seen, "\n%s: %s", k, strings.Join(vs, ","))
		}
		seen.WriteByte('\n')
		seen.Write(m.Data())
		for _, l := range leaks(seen.Bytes(), secrets) {
			t.Errorf("stream message %d on %s carries the %s", n, m.Subject(), l)
		}
		for _, v := range plain {
			if bytes.Contains(seen.Bytes(), v) {
				t.Errorf("stream message %d on %s carries %q in the clear", n, m.Subject(), v)
			}
		}
		c, ok := ciphers[m.Subject()]
		if !ok {
			t.Errorf("stream message %d on %s: not a subject of a core written here", n, m.Subject())
			continue
		}
		if _, err := c.open(m.Data()); err != nil {
			t.Errorf("stream message %d does not open with its core's key: %v", n, err)
		}
		for subj, other := range ciphers {
			if subj == m.Subject() {
				continue
			}
			if _, err := other.open(m.Data()); err == nil {
				t.Errorf("stream message %d on %s opens with the key of %s", n, m.Subject(), subj)
			}
		}
	}
}

// logBuffer collects a bridge's log lines; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// startLoggedBridge starts a bridge that logs everything, down to
// nats-server's protocol traces, into buf.
func startLoggedBridge(t *testing.T, cfg *config.Config, buf *logBuffer) *Bridge {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: LevelTrace}))
	b, err := StartBridge(ctx, cfg, BridgeOptions{
		Encodings: builtinEncodings(), Storage: builtinStorage(),
		PluginCommand: testPluginCommand, Logger: log,
	})
	if err != nil {
		t.Fatalf("StartBridge: %v", err)
	}
	return b
}

// TestSecretsNeverLogged runs a writer and a reader bridge through a whole
// life, logging at the lowest level there is: cores created by name and
// in a namespace, appends, replication, a restart of the writer that reads
// its primary key back, shutdown. Neither log holds either bridge's
// primary key, a core's secret key or the NATS password, in any common
// encoding; the primary key files are mode 0600.
func TestSecretsNeverLogged(t *testing.T) {
	const password = "pa55-w0rd-never-logged"
	var wlog, rlog logBuffer
	wcfg := testConfig(t)
	wcfg.Name = "w"
	wcfg.NATS.User, wcfg.NATS.Password = "bridge", password
	writer := startLoggedBridge(t, wcfg, &wlog)
	rcfg := testConfig(t)
	rcfg.Name = "r"
	rcfg.NATS.URL = writer.Conn.ClientURL()
	rcfg.NATS.User, rcfg.NATS.Password = "bridge", password
	reader := startLoggedBridge(t, rcfg, &rlog)
	stopped := false
	defer func() {
		if !stopped {
			reader.Shutdown(context.WithoutCancel(t.Context()))
			writer.Shutdown(context.WithoutCancel(t.Context()))
		}
	}()
	nc, err := natsgo.Connect(writer.Conn.ClientURL(), natsgo.UserInfo("bridge", password),
		natsgo.MaxReconnects(-1), natsgo.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	var keys []string
	for _, body := range []string{
		`{"name":"plain","valueEncoding":"json"}`,
		`{"name":"nested","namespace":["app","v1"],"valueEncoding":"binary"}`,
	} {
		w := getInfo(t, nc, "w", body)
		keys = append(keys, w.Key)
		appendN(t, nc, w.Key, 0, 5)
		getInfo(t, nc, "r", fmt.Sprintf(`{"key":%q}`, w.Key))
		waitLength(t, localCore(t, reader, w.Key), 5)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// The writer's embedded server goes away under the reader, and comes
	// back on the same port with the primary key read from its file.
	wcfg.NATS.Listen = strings.TrimPrefix(writer.Conn.ClientURL(), "nats://")
	if err := writer.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	writer = startLoggedBridge(t, wcfg, &wlog)
	for _, k := range keys {
		appendN(t, nc, k, 5, 5)
		waitLength(t, localCore(t, reader, k), 10)
	}
	wpk, rpk := writer.Store.PrimaryKey(), reader.Store.PrimaryKey()
	secrets := map[string][]byte{
		"writer primary key": wpk[:],
		"reader primary key": rpk[:],
		"nats password":      []byte(password),
	}
	plain := corestore.DeriveKeyPair(wpk, writer.Store.NamespaceKey(), []byte("plain"))
	nested := corestore.DeriveKeyPair(wpk, writer.Store.Namespace("app").Namespace("v1").NamespaceKey(), []byte("nested"))
	// The derivations are the bridge's own: they give the cores' keys.
	for i, kp := range []core.KeyPair{plain, nested} {
		if got := core.DefaultManifest(1, kp.PublicKey).Hash(); got != mustHexKey(t, keys[i]) {
			t.Fatalf("derived key pair %d gives core %x, not %s", i, got, keys[i])
		}
	}
	secrets["secret key of plain"] = plain.SecretKey
	secrets["secret key of nested"] = nested.SecretKey
	secrets["seed of plain"] = plain.SecretKey.Seed()
	secrets["seed of nested"] = nested.SecretKey.Seed()
	if len(leaks([]byte("x="+hex.EncodeToString(wpk[:])+"\n"), secrets)) == 0 {
		t.Fatal("leaks does not see a primary key written in hex")
	}
	stopped = true
	if err := reader.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := writer.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	for name, log := range map[string][]byte{"writer": wlog.Bytes(), "reader": rlog.Bytes()} {
		// The capture works: the logs are long and name the cores.
		if n := bytes.Count(log, []byte("\n")); n < 10 {
			t.Errorf("the %s logged %d lines at trace level; the capture is not working", name, n)
		}
		for _, k := range keys {
			if !bytes.Contains(log, []byte(k)) {
				t.Errorf("the %s's log never names core %s; the capture is not working", name, k)
			}
		}
		for _, l := range leaks(log, secrets) {
			t.Errorf("the %s's log holds the %s", name, l)
		}
		t.Logf("%s: %d bytes, %d lines of log checked", name, len(log), bytes.Count(log, []byte("\n")))
	}
	for _, dir := range []string{wcfg.DataDir, rcfg.DataDir} {
		fi, err := os.Stat(filepath.Join(dir, corestore.PrimaryKeyFile))
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s is mode %v, want 0600", fi.Name(), mode)
		}
	}
}

// TestAuthenticatedEmbeddedBridge runs a bridge whose embedded server
// requires a user and password, end to end: clients without them or with
// a wrong password are refused; with them, a client creates a core,
// appends, reads blocks and info and receives appended events; a reader
// bridge that presents them follows the core to the writer's tree, and one
// that presents a wrong password does not start, saying why.
func TestAuthenticatedEmbeddedBridge(t *testing.T) {
	cfg := testConfig(t)
	cfg.Name = "w"
	cfg.NATS.User, cfg.NATS.Password = "bridge", "s3cret"
	writer := startBridge(t, cfg)
	url := writer.Conn.ClientURL()

	for name, opts := range map[string][]natsgo.Option{
		"no credentials": nil,
		"wrong password": {natsgo.UserInfo("bridge", "guess")},
		"unknown user":   {natsgo.UserInfo("mallory", "s3cret")},
	} {
		nc, err := natsgo.Connect(url, opts...)
		if err == nil {
			nc.Close()
			t.Fatalf("a client with %s connected", name)
		}
		if !errors.Is(err, natsgo.ErrAuthorization) {
			t.Errorf("client with %s: %v, want an authorization violation", name, err)
		}
	}

	nc, err := natsgo.Connect(url, natsgo.UserInfo("bridge", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	w := getInfo(t, nc, "w", `{"name":"auth","valueEncoding":"json"}`)
	events, err := nc.SubscribeSync("core." + w.Key + ".appended")
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, nc, w.Key, 0, 3)
	if m := request(t, nc, "core."+w.Key+".block", []byte("2")); string(m.Data) != `{"n":2}` {
		t.Errorf("block 2 = %s", m.Data)
	}
	for i := range 3 {
		m, err := events.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("appended event %d: %v", i, err)
		}
		if got := m.Header.Get(HeaderIndex); got != fmt.Sprint(i) {
			t.Errorf("appended event %d has index %s", i, got)
		}
	}

	rcfg := testConfig(t)
	rcfg.Name = "r"
	rcfg.NATS.URL = url
	rcfg.NATS.User, rcfg.NATS.Password = "bridge", "s3cret"
	reader := startBridge(t, rcfg)
	getInfo(t, nc, "r", fmt.Sprintf(`{"key":%q}`, w.Key))
	rc := localCore(t, reader, w.Key)
	waitLength(t, rc, 3)
	sameState(t, localCore(t, writer, w.Key), rc)

	bad := testConfig(t)
	bad.NATS.URL = url
	bad.NATS.User, bad.NATS.Password = "bridge", "guess"
	bad.NATS.StartTimeout = 5 * time.Second
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	b, err := StartBridge(ctx, bad, BridgeOptions{
		Encodings: builtinEncodings(), Storage: builtinStorage(),
		PluginCommand: testPluginCommand, Logger: testLogger(t),
	})
	if err == nil {
		b.Shutdown(ctx)
		t.Fatal("a bridge with a wrong password started")
	}
	if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("bridge with a wrong password: %v, want it to say authorization", err)
	}
}
