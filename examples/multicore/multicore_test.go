package multicore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/corebridge/corebridge/config"
	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/corestore"
	"github.com/corebridge/corebridge/examples/multicore/multicore"
	"github.com/corebridge/corebridge/nats"
	"github.com/corebridge/corebridge/plugins"
	"github.com/corebridge/corebridge/plugins/builtin"
)

// TestMain serves a builtin plugin when a test bridge started this test
// binary as one, and runs the tests otherwise.
func TestMain(m *testing.M) { builtin.TestMain(m) }

// testTimeout bounds each test's whole flow.
const testTimeout = 2 * time.Minute

// testWait is how long the reader's block requests wait on a bridge. It is
// short because a bridge that stops waits for the requests it holds, and
// so that the test sees the reader ask again when a wait expires.
const testWait = time.Second

// loadConfig reads one of the example's configs and points it at a
// temporary data directory.
func loadConfig(t *testing.T, file string) *config.Config {
	t.Helper()
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	cfg.DataDir = t.TempDir()
	return cfg
}

// startBridge starts a whole bridge with real plugin processes (this test
// binary) and shuts it down when the test ends.
func startBridge(t *testing.T, cfg *config.Config) *nats.Bridge {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	b, err := nats.StartBridge(ctx, cfg, nats.BridgeOptions{
		Encodings: builtin.Encodings(), Storage: builtin.Storage(),
		PluginCommand: func(kind plugins.Kind, name string) *plugins.Command {
			c := plugins.TestCommand(kind, name)
			return &c
		},
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})).With("bridge", cfg.Name),
	})
	if err != nil {
		t.Fatalf("start bridge %q: %v", cfg.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Errorf("shut bridge %q down: %v", cfg.Name, err)
		}
	})
	return b
}

// bridges starts the example's two bridges as writer.hcl and reader.hcl
// describe them: the writer's with the embedded NATS (on a free port), the
// reader's connected to it. It returns a client connection for each
// program.
func bridges(t *testing.T) (w, r *nats.Bridge, wnc, rnc *natsgo.Conn) {
	wcfg := loadConfig(t, "writer.hcl")
	rcfg := loadConfig(t, "reader.hcl")
	if !wcfg.NATS.Embedded() || rcfg.NATS.Embedded() || wcfg.Name != "writer" || rcfg.Name != "reader" {
		t.Fatalf("writer.hcl and reader.hcl must describe an embedded-NATS bridge \"writer\" and a bridge \"reader\" connected to it; got %q (url %q) and %q (url %q)",
			wcfg.Name, wcfg.NATS.URL, rcfg.Name, rcfg.NATS.URL)
	}
	wcfg.NATS.Listen = "127.0.0.1:-1"
	w = startBridge(t, wcfg)
	rcfg.NATS.URL = w.Conn.ClientURL()
	r = startBridge(t, rcfg)
	connect := func(name string) *natsgo.Conn {
		nc, err := natsgo.Connect(w.Conn.ClientURL(), natsgo.Name(name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	return w, r, connect("writer program"), connect("reader program")
}

// lineSink collects what the reader prints, line by line, and hands each
// complete line to a channel.
type lineSink struct {
	mu      sync.Mutex
	partial []byte
	lines   chan string
}

func newLineSink() *lineSink { return &lineSink{lines: make(chan string, 1000)} }

func (s *lineSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		s.lines <- string(s.partial[:i])
		s.partial = s.partial[i+1:]
	}
}

// next returns the next n printed lines, or fails the test at the deadline.
func (s *lineSink) next(t *testing.T, ctx context.Context, n int) []string {
	t.Helper()
	var got []string
	for len(got) < n {
		select {
		case l := <-s.lines:
			got = append(got, l)
		case <-ctx.Done():
			t.Fatalf("reader printed %d of %d lines before the deadline: %q", len(got), n, got)
		}
	}
	return got
}

// expected returns the reader's lines for input lines, per core.
func expected(lines []string) map[string][]string {
	want := map[string][]string{}
	for _, l := range lines {
		name := multicore.Core3
		if len([]rune(l)) < multicore.ShortLine {
			name = multicore.Core2
		}
		want[name] = append(want[name], fmt.Sprintf("%s #%d: %s", name, len(want[name]), l))
	}
	return want
}

// byCore splits printed lines by the core they name, keeping their order.
func byCore(t *testing.T, printed []string) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	for _, l := range printed {
		name, _, ok := strings.Cut(l, " #")
		if !ok {
			t.Fatalf("reader printed %q, not \"core-N #i: text\"", l)
		}
		got[name] = append(got[name], l)
	}
	return got
}

func sameLines(t *testing.T, what string, got, want map[string][]string) {
	t.Helper()
	for _, name := range []string{multicore.Core2, multicore.Core3} {
		if strings.Join(got[name], "\n") != strings.Join(want[name], "\n") {
			t.Errorf("%s: %s printed\n%s\nwant\n%s", what, name, strings.Join(got[name], "\n"), strings.Join(want[name], "\n"))
		}
	}
	if len(got) > 2 {
		t.Errorf("%s: reader printed lines of other cores: %q", what, got)
	}
}

// TestWriterToReader runs the whole flow on two bridges: the writer sets
// its cores up, the reader starts following on its own bridge before any
// line is written, so it waits for core-2's and core-3's first blocks;
// short lines arrive first (core-3's reader keeps waiting), then a mix.
// The reader must print exactly the lines written, per core, in order.
func TestWriterToReader(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	_, r, wnc, rnc := bridges(t)

	var wlog bytes.Buffer
	key, err := multicore.Write(ctx, wnc, "writer", strings.NewReader(""), &wlog)
	if err != nil {
		t.Fatalf("set up: %v", err)
	}
	if !strings.Contains(wlog.String(), key) {
		t.Errorf("the writer did not log core-1's key: %q", wlog.String())
	}

	phase1 := []string{"hello", "short one", "ünïcödé 19 runes ok"}
	phase2 := []string{
		"this line is long enough for core-3",
		"hi",
		"exactly twenty chars",
		"another long line, with \"quotes\" and \\ backslashes",
		"",
		"bye",
	}
	all := append(append([]string(nil), phase1...), phase2...)

	// Watch the reader's requests for core-3's block 0: a plain
	// subscription sees every request, and the bridges' queue group still
	// answers them.
	waits := make(chan *natsgo.Msg, 100)
	watch, err := wnc.ChanSubscribe("core."+coreKey(t, ctx, wnc, multicore.Core3).String()+".block", waits)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Unsubscribe()

	sink := newLineSink()
	done := make(chan error, 1)
	go func() { done <- multicore.Read(ctx, rnc, "reader", key, sink, len(all), multicore.WithWait(testWait)) }()

	if _, err := multicore.Write(ctx, wnc, "writer", strings.NewReader(strings.Join(phase1, "\n")+"\n"), io.Discard); err != nil {
		t.Fatalf("write phase 1: %v", err)
	}
	sameLines(t, "after phase 1", byCore(t, sink.next(t, ctx, len(phase1))), expected(phase1))

	// core-3 is still empty: its reader waits for block 0 and, when the
	// wait expires, asks again.
	for asked := 0; asked < 2; {
		select {
		case m := <-waits:
			var req struct {
				Index uint64 `json:"index"`
				Wait  bool   `json:"wait"`
			}
			if err := json.Unmarshal(m.Data, &req); err != nil || req.Index != 0 || !req.Wait {
				t.Fatalf("reader asked for core-3's blocks with %q before any was written; want a waiting request for block 0", m.Data)
			}
			asked++
		case <-ctx.Done():
			t.Fatal("the reader did not ask for core-3's block 0 twice")
		}
	}

	// A third run of the writer, with Windows line endings and no final
	// one: set up again (appending nothing to core-1), then the rest.
	if _, err := multicore.Write(ctx, wnc, "writer", strings.NewReader(strings.Join(phase2, "\r\n")), io.Discard); err != nil {
		t.Fatalf("write phase 2: %v", err)
	}
	printed := sink.next(t, ctx, len(phase2))
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Read did not return after printing all it was asked to")
	}
	got := byCore(t, printed)
	want := expected(all)
	for name, lines := range expected(phase1) {
		want[name] = want[name][len(lines):]
	}
	sameLines(t, "after phase 2", got, want)
	select {
	case l := <-sink.lines:
		t.Errorf("reader printed more than it was asked to: %q", l)
	default:
	}

	// core-1 holds block 0 only, though the writer ran three times.
	var info multicore.Info
	m, err := wnc.Request("store.writer.get", []byte(`{"name": "core-1", "valueEncoding": "json"}`), 10*time.Second)
	if err != nil || json.Unmarshal(m.Data, &info) != nil || info.Length != 1 || info.Key != key {
		t.Errorf("core-1 on the writer's bridge after three runs: %s %+v, %v; want key %s and length 1", m.Data, info, err, key)
	}

	// The reader's bridge holds verified copies of all three cores.
	for name, n := range map[string]int{multicore.Core1: 1, multicore.Core2: len(expected(all)[multicore.Core2]), multicore.Core3: len(expected(all)[multicore.Core3])} {
		k := coreKey(t, ctx, wnc, name)
		waitCopy(t, ctx, r, k, n)
	}
	if s := r.Replication.Stats(); s.Rejected != 0 || s.Applied == 0 {
		t.Errorf("reader's bridge replication stats %+v", s)
	}
}

// coreKey returns the key of the writer's core name.
func coreKey(t *testing.T, ctx context.Context, nc *natsgo.Conn, name string) core.Key {
	t.Helper()
	m, err := nc.RequestWithContext(ctx, "store.writer.get", fmt.Appendf(nil, `{"name": %q}`, name))
	if err != nil {
		t.Fatal(err)
	}
	if e := nats.ReplyError(m); e != nil {
		t.Fatalf("get %s: %v", name, e)
	}
	var info multicore.Info
	if err := json.Unmarshal(m.Data, &info); err != nil {
		t.Fatal(err)
	}
	k, err := core.ParseKey(info.Key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// waitCopy waits until bridge b's own copy of a core has n blocks, and
// checks it has no more.
func waitCopy(t *testing.T, ctx context.Context, b *nats.Bridge, k core.Key, n int) {
	t.Helper()
	c, err := b.Store.Get(ctx, corestore.GetOptions{Key: &k})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Writable() {
		t.Errorf("the reader's bridge can write core %s", k)
	}
	if _, err := c.Get(ctx, uint64(n-1), core.Wait()); err != nil {
		t.Fatalf("reader's bridge copy of %s: block %d: %v (length %d)", k, n-1, err, c.Length())
	}
	if c.Length() != uint64(n) {
		t.Errorf("reader's bridge copy of %s has %d blocks, want %d", k, c.Length(), n)
	}
}

// TestReadErrors checks that the reader's mistakes come back as errors
// that say what is wrong, at once.
func TestReadErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	_, _, _, rnc := bridges(t)
	for _, tc := range []struct {
		name, store, key string
		want             []string
	}{
		{"bad key", "reader", "not-a-key", []string{"400", "store.reader.get"}},
		{"no such store", "nobody", strings.Repeat("ab", 32), []string{`no bridge named "nobody"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := multicore.Read(ctx, rnc, tc.store, tc.key, io.Discard, 1, multicore.WithWait(testWait))
			if err == nil {
				t.Fatal("Read succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			var e *multicore.Error
			if tc.name == "bad key" && (!errors.As(err, &e) || e.Code != 400) {
				t.Errorf("error %v is not a *multicore.Error with code 400", err)
			}
		})
	}
}

// TestReadStopsWithContext checks that a reader waiting for blocks returns
// as soon as its context ends.
func TestReadStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	_, _, wnc, rnc := bridges(t)
	key, err := multicore.Write(ctx, wnc, "writer", strings.NewReader("one\n"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	sink := newLineSink()
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- multicore.Read(rctx, rnc, "reader", key, sink, 0, multicore.WithWait(testWait)) }()
	if got := sink.next(t, ctx, 1); got[0] != "core-2 #0: one" {
		t.Fatalf("printed %q", got)
	}
	stop() // both cores' loops are waiting for a block now
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Read after cancel: %v, want context.Canceled", err)
		}
	case <-ctx.Done():
		t.Fatal("Read did not return after its context ended")
	}
}

// TestImportsOnlyNATS keeps the example's client code what it claims to
// be: a program that needs nothing but a NATS client.
func TestImportsOnlyNATS(t *testing.T) {
	for _, dir := range []string{"multicore", "writer", "reader"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				first, _, _ := strings.Cut(p, "/")
				switch {
				case !strings.Contains(first, "."): // standard library
				case p == "github.com/nats-io/nats.go" || strings.HasPrefix(p, "github.com/nats-io/nats.go/"):
				case p == "github.com/corebridge/corebridge/examples/multicore/multicore":
				default:
					t.Errorf("%s imports %s; the example's programs use only the standard library and nats.go", f, p)
				}
			}
		}
	}
}
