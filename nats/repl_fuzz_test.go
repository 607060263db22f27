package nats

// Fuzz targets for what a reader takes from the replication stream, which
// anyone allowed to publish on hc.repl.> can write to: the message decoder,
// the sealing, and the follower that applies messages to a core. Seeds are
// genuine messages of a small core that appends, truncates and forks;
// corpora found by fuzzing are kept under testdata/fuzz. Run one with
//
//	go test ./nats -run '^$' -fuzz '^FuzzReplApply$' -fuzztime 3m

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/corebridge/corebridge/core"
)

// replFixture is a writer's history and the genuine messages it published:
// fork 0 appends blocks 0-7 in three batches; fork 1 keeps blocks 0-3,
// truncating there, and appends two other blocks.
type replFixture struct {
	key      core.Key
	writers  map[uint64]*core.Core // by fork: each fork's history
	values   map[uint64][][]byte   // by fork: its blocks
	genuine  []*replMessage        // in publishing order
	cipher   *replCipher
	stranger *replCipher // another core's
}

var (
	fixtureOnce sync.Once
	fixture     *replFixture
	fixtureErr  error
)

func replFixtureFor(tb testing.TB) *replFixture {
	tb.Helper()
	fixtureOnce.Do(func() { fixture, fixtureErr = newReplFixture() })
	if fixtureErr != nil {
		tb.Fatal(fixtureErr)
	}
	return fixture
}

func newReplFixture() (*replFixture, error) {
	ctx := context.Background()
	kp := core.KeyPairFromSeed([32]byte{1, 2, 3})
	open := func() (*core.Core, error) {
		return core.Open(ctx, core.NewMemoryStorage(), core.Options{KeyPair: &kp})
	}
	w0, err := open()
	if err != nil {
		return nil, err
	}
	w1, err := open()
	if err != nil {
		return nil, err
	}
	fx := &replFixture{
		key: w0.Key(), writers: map[uint64]*core.Core{0: w0, 1: w1}, values: map[uint64][][]byte{},
		cipher: newReplCipher(w0.Key()), stranger: newReplCipher(core.Key{9}),
	}
	manifest := w0.Info().Manifest
	var v0 [][]byte
	for i := range 8 {
		v0 = append(v0, fmt.Appendf(nil, `{"block":%d}`, i))
	}
	sigs := map[int][]byte{}
	for _, end := range []int{3, 5, 8} {
		start := int(w0.Length())
		for _, w := range []*core.Core{w0, w1} {
			r, err := w.Append(ctx, v0[start:end])
			if err != nil {
				return nil, err
			}
			sigs[end] = r.Signature
		}
		fx.genuine = append(fx.genuine, &replMessage{Start: uint64(start), Values: v0[start:end], Signature: sigs[end]})
	}
	fx.genuine[0].Manifest = manifest
	// A run too large for one message: an unsigned chunk and its end.
	fx.genuine = append(fx.genuine,
		&replMessage{Start: 0, Values: v0[0:2]},
		&replMessage{Start: 2, Values: v0[2:3], Signature: sigs[3], Manifest: manifest})
	fx.values[0] = v0

	if err := w1.Truncate(ctx, 4); err != nil {
		return nil, err
	}
	fx.genuine = append(fx.genuine, &replMessage{Fork: 1, Start: 4, Signature: w1.Signature()})
	v1 := append(append([][]byte(nil), v0[:4]...), []byte(`"x"`), []byte(`"y"`))
	r, err := w1.Append(ctx, v1[4:])
	if err != nil {
		return nil, err
	}
	fx.genuine = append(fx.genuine,
		&replMessage{Fork: 1, Start: 4, Values: v1[4:], Signature: r.Signature},
		&replMessage{Fork: 1, Start: 0, Values: v1, Signature: r.Signature, Manifest: manifest})
	fx.values[1] = v1
	return fx, nil
}

// FuzzReplMessage decodes arbitrary bytes as a replication message, as a
// reader does after opening one: it never panics, an error is always
// errReplMessage, and what decodes encodes to bytes that decode to the
// same message. Sealing and opening change nothing, and bytes not sealed
// with the core's key never open.
func FuzzReplMessage(f *testing.F) {
	fx := replFixtureFor(f)
	for _, m := range fx.genuine {
		e := m.encode()
		f.Add(e)
		f.Add(e[:len(e)/2])
		f.Add(append(bytes.Clone(e), 0))
	}
	f.Add([]byte{})
	f.Add([]byte{replVersion, 0xff, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{replVersion, 4, 0, 0, 0})
	f.Add([]byte{replVersion, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeReplMessage(data)
		if err != nil {
			if m != nil || !errors.Is(err, errReplMessage) {
				t.Fatalf("decode error %v with message %+v; want errReplMessage and nil", err, m)
			}
		} else {
			again, err := decodeReplMessage(m.encode())
			if err != nil {
				t.Fatalf("%+v encodes to bytes that do not decode: %v", m, err)
			}
			if diff := cmp.Diff(m, again, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("decode(encode(m)) differs (-m +again):\n%s", diff)
			}
		}
		opened, oerr := fx.cipher.open(fx.cipher.seal(data))
		if (oerr == nil) != (err == nil) {
			t.Fatalf("open(seal(data)) error %v, decode error %v", oerr, err)
		}
		if err == nil {
			if diff := cmp.Diff(m, opened, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("open(seal(data)) differs from decode(data):\n%s", diff)
			}
		}
		if _, err := fx.cipher.open(data); err == nil || !errors.Is(err, errReplMessage) {
			t.Fatalf("raw bytes opened as a sealed message: %v", err)
		}
		if _, err := fx.stranger.open(fx.cipher.seal(data)); err == nil {
			t.Fatal("a message sealed for one core opened with another core's key")
		}
	})
}

// streamMsg is a message as the follower receives it from the stream.
type streamMsg struct {
	jetstream.Msg // nil: the follower uses only Data and Metadata
	data          []byte
	seq           uint64
}

func (m streamMsg) Data() []byte { return m.data }

func (m streamMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Stream: m.seq}}, nil
}

// hostile turns fuzz bytes into what arrives from the stream: the first
// byte picks how the rest is sent (sealed with the core's key, as is, or
// sealed with another core's key).
func (fx *replFixture) hostile(b []byte, seq uint64) jetstream.Msg {
	if len(b) == 0 {
		return streamMsg{seq: seq}
	}
	body := b[1:]
	switch b[0] % 3 {
	case 0:
		body = fx.cipher.seal(body)
	case 2:
		body = fx.stranger.seal(body)
	}
	return streamMsg{data: body, seq: seq}
}

// sealedSeed is fuzz input that hostile turns into m, sealed genuinely.
func sealedSeed(m *replMessage) []byte { return append([]byte{0}, m.encode()...) }

// FuzzReplApply gives a follower, whose core already applied the first
// `have` genuine messages, three hostile messages in one batch, then all
// genuine messages. Whatever the messages, the follower never panics and
// the core only ever holds a state its writer signed, with the writer's
// blocks: after the hostile batch, and after the genuine messages too,
// which must leave it at the end of fork 0 or fork 1. A core whose state
// did not change keeps its stream position as well.
func FuzzReplApply(f *testing.F) {
	fx := replFixtureFor(f)
	g := fx.genuine
	f.Add(uint8(0), sealedSeed(g[0]), sealedSeed(g[1]), sealedSeed(g[2]))
	f.Add(uint8(1), sealedSeed(g[1]), sealedSeed(g[5]), sealedSeed(g[6]))
	f.Add(uint8(2), sealedSeed(g[3]), sealedSeed(g[4]), sealedSeed(g[7]))
	f.Add(uint8(3), sealedSeed(g[5]), sealedSeed(g[6]), []byte{1, 0, 0})
	forged := *g[1]
	forged.Values = [][]byte{[]byte(`"evil"`), g[1].Values[1]}
	f.Add(uint8(1), sealedSeed(&forged), sealedSeed(g[2]), sealedSeed(g[0]))
	farStart := *g[2]
	farStart.Start = 1 << 40
	f.Add(uint8(0), sealedSeed(&farStart), []byte{2, 1, 2, 3}, sealedSeed(g[3]))
	forkBump := *g[5]
	forkBump.Fork = 1 << 62
	f.Add(uint8(3), sealedSeed(&forkBump), sealedSeed(g[6]), sealedSeed(g[2]))
	junk := &replMessage{Start: 2, Values: [][]byte{[]byte(`"junk"`)}}
	f.Add(uint8(1), sealedSeed(junk), sealedSeed(g[1]), sealedSeed(g[2]))
	noManifest := *g[0]
	noManifest.Manifest = nil
	f.Add(uint8(0), sealedSeed(&noManifest), sealedSeed(g[3]), sealedSeed(g[4]))
	f.Fuzz(func(t *testing.T, have uint8, a, b, c []byte) {
		ctx := context.Background()
		key := fx.key
		reader, err := core.Open(ctx, core.NewMemoryStorage(), core.Options{Key: &key})
		if err != nil {
			t.Fatal(err)
		}
		defer reader.Close()
		fol := &follower{
			r: &Replicator{log: slog.New(slog.DiscardHandler)}, c: reader, cipher: fx.cipher,
			log: slog.New(slog.DiscardHandler), mayResync: true,
		}
		seq := uint64(1)
		var pre []jetstream.Msg
		for _, m := range g[:int(have)%4] {
			pre = append(pre, streamMsg{data: fx.cipher.seal(m.encode()), seq: seq})
			seq++
		}
		fol.apply(ctx, pre)
		fx.checkGenuine(t, reader, "before the hostile messages")
		before := reader.Info()

		fol.apply(ctx, []jetstream.Msg{fx.hostile(a, seq), fx.hostile(b, seq+1), fx.hostile(c, seq+2)})
		fx.checkGenuine(t, reader, "after the hostile messages")
		after := reader.Info()
		if after.Fork == before.Fork && after.Length == before.Length {
			if !bytes.Equal(after.Signature, before.Signature) {
				t.Fatal("the signature changed without the state")
			}
			if got, want := after.UserData[replSeqKey], before.UserData[replSeqKey]; !bytes.Equal(got, want) {
				t.Fatalf("the stream position moved from %q to %q without a change of state", want, got)
			}
		} else if p, err := strconv.ParseUint(string(after.UserData[replSeqKey]), 10, 64); err != nil || p < seq || p > seq+2 {
			t.Fatalf("the state changed to %d/%d, but the stream position is %q", after.Fork, after.Length, after.UserData[replSeqKey])
		}

		// The genuine stream from the start still brings the core to a
		// writer's final state, whatever the hostile messages left
		// pending.
		var all []jetstream.Msg
		for i, m := range g {
			all = append(all, streamMsg{data: fx.cipher.seal(m.encode()), seq: seq + 3 + uint64(i)})
		}
		fol.apply(ctx, all)
		fx.checkGenuine(t, reader, "after the genuine messages")
		if end := reader.Info(); !(end.Fork == 0 && end.Length == 8) && !(end.Fork == 1 && end.Length == 6) {
			t.Fatalf("after every genuine message the core is at fork %d length %d", end.Fork, end.Length)
		}
	})
}

// checkGenuine fails the test unless the reader's state is one its writer
// signed: a fork the writer made, a signature of the writer's tree at that
// length, and the writer's blocks.
func (fx *replFixture) checkGenuine(t *testing.T, reader *core.Core, when string) {
	t.Helper()
	ctx := context.Background()
	info := reader.Info()
	if info.Length == 0 {
		return
	}
	w, ok := fx.writers[info.Fork]
	if !ok {
		t.Fatalf("%s: the core is at fork %d, which its writer never made", when, info.Fork)
	}
	if info.Length > uint64(len(fx.values[info.Fork])) {
		t.Fatalf("%s: the core has %d blocks on fork %d; its writer made %d", when, info.Length, info.Fork, len(fx.values[info.Fork]))
	}
	if err := w.VerifyState(ctx, info.Fork, info.Length, info.Signature); err != nil {
		t.Fatalf("%s: the core's state %d/%d is not the writer's: %v", when, info.Fork, info.Length, err)
	}
	blocks, err := reader.Blocks(ctx, 0, info.Length)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range blocks {
		if !bytes.Equal(b.Value, fx.values[info.Fork][i]) {
			t.Fatalf("%s: block %d is %q, the writer's is %q", when, i, b.Value, fx.values[info.Fork][i])
		}
	}
}

// TestFollowerDropsJunkBeforeGenuine: an unsigned chunk sealed with the
// core's key (anyone who can read the core can make one) published just
// before a genuine message, and contiguous with it, does not make the
// follower drop the genuine message.
func TestFollowerDropsJunkBeforeGenuine(t *testing.T) {
	fx := replFixtureFor(t)
	ctx := t.Context()
	key := fx.key
	reader, err := core.Open(ctx, core.NewMemoryStorage(), core.Options{Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	fol := &follower{
		r: &Replicator{log: slog.New(slog.DiscardHandler)}, c: reader, cipher: fx.cipher,
		log: slog.New(slog.DiscardHandler), mayResync: true,
	}
	seal := func(m *replMessage, seq uint64) jetstream.Msg {
		return streamMsg{data: fx.cipher.seal(m.encode()), seq: seq}
	}
	g := fx.genuine
	fol.apply(ctx, []jetstream.Msg{seal(g[0], 1)}) // blocks 0-2
	junk := &replMessage{Start: 2, Values: [][]byte{[]byte(`"junk"`)}}
	for _, batch := range [][]jetstream.Msg{
		{seal(junk, 2), seal(g[1], 3)},   // in one batch
		{seal(junk, 4)}, {seal(g[2], 5)}, // or one after the other
	} {
		fol.apply(ctx, batch)
	}
	fx.checkGenuine(t, reader, "after junk and genuine messages")
	if got := reader.Length(); got != 8 {
		t.Errorf("the follower holds %d blocks, want 8: junk before a genuine message made it drop that message", got)
	}
}
