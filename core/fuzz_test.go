package core_test

// Fuzz targets for every decoder of untrusted bytes and for the two ways a
// core takes state from a peer. Seeds come from the JavaScript vector files
// and from genuine proofs and updates of small cores; corpora found by
// fuzzing are kept under testdata/fuzz. Run one with, for example:
//
//	go test ./core -run '^$' -fuzz '^FuzzDecodeData$' -fuzztime 3m

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/internal/vectors"
	"github.com/google/go-cmp/cmp"
)

// vectorSeeds returns the wire data messages and encoded manifests of the
// JavaScript vector files.
func vectorSeeds(tb testing.TB) (wires, manifests [][]byte) {
	for _, path := range vectors.Paths("../testdata") {
		data, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		v, err := vectors.Parse(path, data)
		if err != nil {
			tb.Fatal(err)
		}
		add := func(to *[][]byte, s string) {
			if b, err := hex.DecodeString(s); err == nil && len(b) > 0 {
				*to = append(*to, b)
			}
		}
		for _, c := range v.Corestore.Cases {
			add(&manifests, c.ManifestEncoded)
		}
		for _, h := range v.Hypercore {
			add(&manifests, h.ManifestEncoded)
			for _, p := range h.Proofs {
				add(&wires, p.WireData)
			}
		}
	}
	return wires, manifests
}

// walker reads bytes DecodeData or DecodeManifest accepted, by the grammar
// of spec §2.2 and §5 (JavaScript Hypercore's lib/messages.js), noting every
// place where they are not what an encoder writes. It is the test's own
// reading, independent of the package's decoder.
type walker struct {
	b     []byte
	why   []string
	short bool
}

func (w *walker) note(format string, args ...any) {
	w.why = append(w.why, fmt.Sprintf(format, args...))
}

func (w *walker) uint() uint64 {
	if len(w.b) == 0 {
		w.short = true
		return 0
	}
	size := map[byte]int{0xfd: 2, 0xfe: 4, 0xff: 8}[w.b[0]]
	if size == 0 {
		v := uint64(w.b[0])
		w.b = w.b[1:]
		return v
	}
	if len(w.b) < 1+size {
		w.short, w.b = true, nil
		return 0
	}
	var v uint64
	for i := size; i >= 1; i-- {
		v = v<<8 | uint64(w.b[i])
	}
	w.b = w.b[1+size:]
	minimal := 1
	switch {
	case v > 0xffffffff:
		minimal = 9
	case v > 0xffff:
		minimal = 5
	case v > 0xfc:
		minimal = 3
	}
	if 1+size != minimal {
		w.note("uint %d in %d bytes", v, 1+size)
	}
	return v
}

func (w *walker) fixed(n uint64) {
	if uint64(len(w.b)) < n {
		w.short, w.b = true, nil
		return
	}
	w.b = w.b[n:]
}

func (w *walker) buffer() { w.fixed(w.uint()) }

func (w *walker) nodes() {
	for n := w.uint(); n > 0 && !w.short; n-- {
		w.uint()
		w.uint()
		w.fixed(32)
	}
}

func (w *walker) signer() {
	w.uint()
	w.fixed(64)
}

func (w *walker) data() {
	flags := w.uint()
	if flags&^31 != 0 {
		w.note("data flags %#x", flags)
	}
	w.uint() // request
	w.uint() // fork
	if flags&1 != 0 {
		w.uint()
		w.buffer()
		w.nodes()
	}
	if flags&2 != 0 {
		w.uint()
		w.nodes()
	}
	if flags&4 != 0 {
		w.uint()
		w.nodes()
	}
	if flags&8 != 0 {
		w.uint()
		w.uint()
		w.nodes()
		w.nodes()
		w.buffer()
	}
	if flags&16 != 0 {
		w.manifest()
	}
}

func (w *walker) manifest() {
	if v := w.uint(); v > 0 {
		flags := w.uint()
		if flags&^15 != 0 {
			w.note("manifest flags %#x", flags)
		}
		w.uint() // hash type
		w.uint() // quorum
		for n := w.uint(); n > 0 && !w.short; n-- {
			w.signer()
		}
		if flags&2 != 0 {
			w.fixed(32)
			w.uint()
		}
		if flags&4 != 0 {
			w.fixed(32 * w.uint())
		}
		if flags&8 != 0 {
			w.buffer()
		}
		return
	}
	w.uint() // hash type
	switch t := w.uint(); t {
	case 0:
		w.fixed(32)
	case 1:
		w.signer()
	case 2:
		flags := w.uint()
		if flags > 1 {
			w.note("version 0 manifest flags %#x", flags)
		}
		quorum, n := w.uint(), w.uint()
		for i := uint64(0); i < n && !w.short; i++ {
			w.signer()
		}
		// JavaScript writes one signer with quorum 1 and no patch as type 1.
		if n == 1 && quorum == 1 && flags&1 == 0 {
			w.note("version 0 type 2 manifest in the form of type 1")
		}
	default:
		w.short = true
	}
}

// walkWire returns why b is not canonical, failing when the grammar does not
// consume it exactly.
func walkWire(t *testing.T, b []byte, read func(*walker)) []string {
	t.Helper()
	w := &walker{b: b}
	read(w)
	if w.short || len(w.b) != 0 {
		t.Fatalf("the decoder accepted %x, which the grammar does not (short %v, %d bytes left)", b, w.short, len(w.b))
	}
	return w.why
}

// fuzzWorld is a few small cores and readers of them, made once. The fuzz
// targets start every input from a copy of a reader's storage.
type fuzzWorld struct {
	writers  [3]fuzzWriter // compat, manifest v1, manifest v0
	seedData [][]byte      // genuine data messages, for seeds
	seedUpd  []updateSeed  // genuine updates, for seeds
}

// fuzzWriter is one writer: 5 blocks signed, then 13. Its readers are at 5.
type fuzzWriter struct {
	m        mode
	kp       core.KeyPair
	key      core.Key
	manifest *core.Manifest
	md       model
	w        *core.Core
	reader   *core.MemoryStorage // verified 0 -> 5 by a proof
	follower *core.MemoryStorage // verified 0 -> 5 by an update
	first    core.Update         // 0 -> 5
	next     core.Update         // 5 -> 13
}

type updateSeed struct {
	sel         uint8
	fork, start uint64
	values, sig []byte
}

// Readers a fuzz input picks with a selector: its request id for data
// messages, a byte for updates.
const (
	pickCompat  = iota // compat reader at 5
	pickFresh          // empty manifest v1 reader without the manifest
	pickV1             // manifest v1 reader at 5
	pickV0             // manifest v0 reader at 5
	pickReaders        // how many
)

var world = sync.OnceValue(func() *fuzzWorld {
	ctx := context.Background()
	w := &fuzzWorld{}
	for i, m := range modes {
		fw := &w.writers[i]
		fw.m, fw.kp = m, keyPair(uint64(100+i))
		fw.key, fw.manifest = m.key(fw.kp), m.manifest(fw.kp)
		var err error
		if fw.w, err = core.Open(ctx, core.NewMemoryStorage(), m.writerOptions(&fw.kp)); err != nil {
			panic(err)
		}
		for j, n := range []int{5, 8} {
			start := fw.md.length()
			values := make([][]byte, n)
			for k := range values {
				values[k] = []byte(strings.Repeat(fmt.Sprint(start+uint64(k)), k))
			}
			res, err := fw.w.Append(ctx, values)
			if err != nil {
				panic(err)
			}
			fw.md.append(values...)
			u := core.Update{Start: start, Values: values, Signature: res.Signature}
			if j == 0 {
				fw.first = u
				fw.reader = core.NewMemoryStorage()
				r, err := core.Open(ctx, fw.reader, core.Options{Key: &fw.key})
				if err != nil {
					panic(err)
				}
				p, err := fw.w.Proof(ctx, core.ProofRequest{Block: &core.BlockRequest{Index: 4}, Upgrade: &core.UpgradeRequest{Start: 0, Length: 5}})
				if err != nil {
					panic(err)
				}
				p.Manifest = fw.manifest
				if err := r.ApplyProof(ctx, p); err != nil {
					panic(err)
				}
				r.Close()
				fw.follower = core.NewMemoryStorage()
				fo, err := core.Open(ctx, fw.follower, core.Options{Key: &fw.key})
				if err != nil {
					panic(err)
				}
				u.Manifest = fw.manifest
				if _, err := fo.ApplyUpdate(ctx, &u); err != nil {
					panic(err)
				}
				fo.Close()
			} else {
				fw.next = u
			}
		}
	}
	// Genuine messages for each reader, as seeds.
	proofs := map[int][]core.ProofRequest{
		pickCompat: {
			{Block: &core.BlockRequest{Index: 7}, Upgrade: &core.UpgradeRequest{Start: 5, Length: 8}},
			{Block: &core.BlockRequest{Index: 2, Nodes: 2}},
			{Upgrade: &core.UpgradeRequest{Start: 5, Length: 3}},
		},
		pickFresh: {{Block: &core.BlockRequest{Index: 3}, Upgrade: &core.UpgradeRequest{Start: 0, Length: 13}}},
		pickV1:    {{Block: &core.BlockRequest{Index: 12}, Upgrade: &core.UpgradeRequest{Start: 5, Length: 8}}, {Block: &core.BlockRequest{Index: 1, Nodes: 1}}},
		pickV0:    {{Upgrade: &core.UpgradeRequest{Start: 5, Length: 1}}, {Block: &core.BlockRequest{Index: 0, Nodes: 9}}},
	}
	for pick := range pickReaders {
		fw := w.writerFor(pick)
		for _, req := range proofs[pick] {
			p, err := fw.w.Proof(ctx, req)
			if err != nil {
				panic(err)
			}
			if pick == pickFresh {
				p.Manifest = fw.manifest
			}
			w.seedData = append(w.seedData, core.EncodeData(uint64(pick+pickReaders*len(w.seedData)), p))
		}
		u := fw.next
		if pick == pickFresh {
			u = core.Update{Values: fw.md.values, Signature: fw.next.Signature}
		}
		w.seedUpd = append(w.seedUpd,
			updateSeed{sel: uint8(pick), start: u.Start, values: packValues(u.Values), sig: u.Signature},
			updateSeed{sel: uint8(pick) | 4, start: u.Start, values: packValues(u.Values), sig: u.Signature},
			updateSeed{sel: uint8(pick) | 8, start: u.Start, values: packValues(u.Values), sig: u.Signature},
			updateSeed{sel: uint8(pick), start: 0, values: packValues(fw.first.Values), sig: fw.first.Signature},
			updateSeed{sel: uint8(pick), fork: 1, start: 3, sig: fw.first.Signature},
		)
	}
	return w
})

func (w *fuzzWorld) writerFor(pick int) *fuzzWriter {
	switch pick {
	case pickCompat:
		return &w.writers[0]
	case pickV0:
		return &w.writers[2]
	}
	return &w.writers[1]
}

// open returns a reader for pick: a copy of the proof reader's or the
// follower's storage.
func (w *fuzzWorld) open(t *testing.T, pick int, follower bool) (*core.Core, *core.MemoryStorage, *fuzzWriter) {
	fw := w.writerFor(pick)
	st := core.NewMemoryStorage()
	switch {
	case pick == pickFresh:
	case follower:
		st = fw.follower.Reopen()
	default:
		st = fw.reader.Reopen()
	}
	c, err := core.Open(context.Background(), st, core.Options{Key: &fw.key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, st, fw
}

// checkApplied checks a reader after a message. Refused, it changed
// nothing. Accepted, the reader holds either the signed state it had (a
// message that proves nothing new) or a state the writer signed, only the
// writer's blocks and nodes, at most the writer's manifest, and reopens.
func checkApplied(t *testing.T, err error, c *core.Core, st *core.MemoryStorage, fw *fuzzWriter, before state, full bool) {
	t.Helper()
	after := snapshot(t, c, st, 16)
	if err != nil {
		if d := diffState(before, after); d != "" {
			t.Fatalf("refused (%v), but the reader changed (-before +after):\n%s", err, d)
		}
		return
	}
	n := after.Length
	same := n == before.Length && after.Fork == before.Fork && after.TreeHash == before.TreeHash && bytes.Equal(after.Signature, before.Signature)
	if !same && (after.Fork != 0 || (n != 5 && n != 13) || after.TreeHash != fw.md.treeHash(n)) {
		t.Fatalf("accepted a state the writer never signed: length %d fork %d tree hash %x", n, after.Fork, after.TreeHash)
	}
	if after.Manifest != nil && !bytes.Equal(after.Manifest, encodeManifest(fw.manifest)) {
		t.Fatalf("accepted manifest %x, the writer's is %x", after.Manifest, encodeManifest(fw.manifest))
	}
	var md model
	md.append(fw.md.values[:n]...)
	if err := checkStorage(t, st, &md, n, 16, full && !same); err != nil {
		t.Fatalf("accepted: %v", err)
	}
	re, err := core.Open(context.Background(), st.Reopen(), core.Options{Key: &fw.key})
	if err != nil {
		t.Fatalf("accepted a state that does not reopen: %v", err)
	}
	re.Close()
}

func FuzzDecodeData(f *testing.F) {
	wires, _ := vectorSeeds(f)
	for _, b := range append(wires, world().seedData...) {
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x00, 0x00, 0x00})
	f.Add([]byte{0xfd, 0x01, 0x00, 0x00, 0x00})             // non-minimal flags
	f.Add([]byte{0x20, 0x00, 0x00})                         // an unknown flag
	f.Add([]byte{0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}) // trailing byte
	f.Fuzz(func(t *testing.T, b []byte) {
		req, p, err := core.DecodeData(b)
		if err != nil {
			if !errors.Is(err, core.ErrInvalidProof) {
				t.Fatalf("error %v is not ErrInvalidProof", err)
			}
			return
		}
		why := walkWire(t, b, (*walker).data)
		re := core.EncodeData(req, p)
		if len(why) == 0 && !bytes.Equal(re, b) {
			t.Fatalf("canonical input %x re-encodes as %x", b, re)
		}
		// Whatever the input's form, the decoded message survives a round
		// trip, and the encoder writes canonical bytes.
		req2, p2, err := core.DecodeData(re)
		if err != nil {
			t.Fatalf("re-encoding %x does not decode: %v", re, err)
		}
		if req2 != req {
			t.Fatalf("request %d re-decodes as %d", req, req2)
		}
		if d := cmp.Diff(p, p2, equate); d != "" {
			t.Fatalf("round trip changed the proof (-first +second):\n%s", d)
		}
		if why := walkWire(t, re, (*walker).data); len(why) > 0 {
			t.Fatalf("EncodeData wrote non-canonical bytes %x: %v", re, why)
		}
		pick := int(req % pickReaders)
		c, st, fw := world().open(t, pick, false)
		before := snapshot(t, c, st, 16)
		err = c.ApplyProof(context.Background(), p)
		checkApplied(t, err, c, st, fw, before, false)
	})
}

func FuzzDecodeManifest(f *testing.F) {
	_, manifests := vectorSeeds(f)
	for _, b := range manifests {
		f.Add(b)
	}
	kp := keyPair(7)
	for _, m := range []*core.Manifest{
		core.DefaultManifest(0, kp.PublicKey),
		core.DefaultManifest(1, kp.PublicKey),
		{Version: 2, Quorum: 2, AllowPatch: true, Signers: make([]core.Signer, 3), Prologue: &core.Prologue{Length: 300}, Linked: make([][32]byte, 2), UserData: []byte("user")},
		{Version: 0, Quorum: 2, Signers: make([]core.Signer, 2)},
		{Version: 0, Prologue: &core.Prologue{}},
	} {
		f.Add(m.Encode())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := core.DecodeManifest(b)
		if err != nil {
			if !errors.Is(err, core.ErrInvalidManifest) {
				t.Fatalf("error %v is not ErrInvalidManifest", err)
			}
			return
		}
		why := walkWire(t, b, (*walker).manifest)
		enc := m.Encode()
		if len(why) == 0 && !bytes.Equal(enc, b) {
			t.Fatalf("canonical manifest %x re-encodes as %x", b, enc)
		}
		m2, err := core.DecodeManifest(enc)
		if err != nil {
			t.Fatalf("re-encoding %x does not decode: %v", enc, err)
		}
		if d := cmp.Diff(m, m2); d != "" {
			t.Fatalf("decode, encode, decode changed the manifest %x -> %x (-first +second):\n%s", b, enc, d)
		}
		if enc2 := m2.Encode(); !bytes.Equal(enc2, enc) {
			t.Fatalf("encoding is not stable: %x then %x", enc, enc2)
		}
		if why := walkWire(t, enc, (*walker).manifest); len(why) > 0 {
			t.Fatalf("Encode wrote non-canonical bytes %x: %v", enc, why)
		}
		// A reader can be opened with it; an unsupported one is refused.
		key := m.Hash()
		c, err := core.Open(context.Background(), core.NewMemoryStorage(), core.Options{Key: &key, Manifest: m})
		if err != nil {
			if !errors.Is(err, core.ErrUnsupportedManifest) {
				t.Fatalf("open with manifest %x: %v", b, err)
			}
			return
		}
		if info := c.Info(); !bytes.Equal(info.Manifest, enc) {
			t.Fatalf("reader manifest %x, want %x", info.Manifest, enc)
		}
		c.Close()
	})
}

func FuzzParseKey(f *testing.F) {
	k := keyPair(3).PublicKey
	var key core.Key
	copy(key[:], k)
	for _, s := range []string{
		key.String(), strings.ToUpper(key.String()), key.ID(), "pear://" + key.ID(), "pear://" + key.String() + "/app/x",
		"", "pear://", "pear:///", strings.Repeat("y", 52), strings.Repeat("9", 52), strings.Repeat("0", 63) + "g",
		strings.Repeat("y", 51) + "l", key.ID()[:51] + "9",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := core.ParseKey(s)
		if err != nil {
			if !errors.Is(err, core.ErrInvalidKey) {
				t.Fatalf("error %v is not ErrInvalidKey", err)
			}
			return
		}
		body := strings.TrimPrefix(s, "pear://")
		if strings.HasPrefix(s, "pear://") {
			body, _, _ = strings.Cut(body, "/")
		}
		if len(body) == 64 {
			if b, err := hex.DecodeString(body); err != nil || !bytes.Equal(b, k[:]) {
				t.Fatalf("%q parsed as %s", s, k)
			}
		}
		hexs, id := k.String(), k.ID()
		if len(hexs) != 64 || len(id) != 52 || strings.ToLower(hexs) != hexs {
			t.Fatalf("key %x prints as %q and %q", k[:], hexs, id)
		}
		for _, again := range []string{hexs, id, "pear://" + id, "pear://" + hexs + "/path"} {
			k2, err := core.ParseKey(again)
			if err != nil || k2 != k {
				t.Fatalf("%q (from %q) parses as %s, %v; want %s", again, s, k2, err, k)
			}
		}
	})
}

func FuzzZ32(f *testing.F) {
	for _, b := range [][]byte{nil, {0}, {0xff}, []byte("hypercore"), make([]byte, 32), bytes.Repeat([]byte{0xa5}, 33)} {
		f.Add(b)
	}
	f.Add([]byte("ybndrfg8ejkmcpqxot1uwisza345h769"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := core.EncodeZ32(b)
		if len(s) != (8*len(b)+4)/5 {
			t.Fatalf("%d bytes encode as %d characters", len(b), len(s))
		}
		d, err := core.DecodeZ32(s)
		if err != nil || !bytes.Equal(d, b) {
			t.Fatalf("%x -> %q -> %x, %v", b, s, d, err)
		}
		// b read as z-base-32 text (either case): it decodes exactly when
		// every character is in the alphabet and the bits past the last
		// whole byte are zero, and then it is the one encoding of its bytes.
		in := string(b)
		const alphabet = "ybndrfg8ejkmcpqxot1uwisza345h769"
		lower := strings.ToLower(in)
		valid := strings.Trim(lower, alphabet) == "" && len(lower) == len(in)
		// The bits past the last whole byte, one by one (with 6 or 7 of
		// them they reach into the character before the last).
		for pos := 8 * (5 * len(in) / 8); valid && pos < 5*len(in); pos++ {
			if strings.IndexByte(alphabet, lower[pos/5])>>(4-pos%5)&1 != 0 {
				valid = false
			}
		}
		d, err = core.DecodeZ32(in)
		if (err == nil) != valid {
			t.Fatalf("DecodeZ32(%q): %x, %v; want it to succeed: %v", in, d, err, valid)
		}
		if err != nil {
			return
		}
		if len(d) != len(in)*5/8 {
			t.Fatalf("%d characters decode to %d bytes", len(in), len(d))
		}
		// Re-encoding gives the input back, but for a last character that
		// only carries (zero) padding bits, which no encoding writes: "y"
		// decodes to nothing, as "" does.
		re := core.EncodeZ32(d)
		if re != lower[:len(re)] || strings.Trim(lower[len(re):], "y") != "" || len(lower)-len(re) > 1 {
			t.Fatalf("%q -> %x -> %q", in, d, re)
		}
	})
}

// packValues writes values as the fuzz targets read them: a length byte
// and that many bytes each.
func packValues(values [][]byte) []byte {
	var b []byte
	for _, v := range values {
		if len(v) > 255 {
			panic("value too long to pack")
		}
		b = append(append(b, byte(len(v))), v...)
	}
	return b
}

func unpackValues(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		n := min(int(b[0]), len(b)-1)
		out = append(out, b[1:1+n])
		b = b[1+n:]
	}
	return out
}

// FuzzApplyUpdate feeds a follower Updates of arbitrary values, starts,
// forks, signatures and manifests. sel picks the follower (low two bits),
// attaches the genuine manifest (4) or another key pair's (8).
func FuzzApplyUpdate(f *testing.F) {
	for _, s := range world().seedUpd {
		f.Add(s.sel, s.fork, s.start, s.values, s.sig)
	}
	f.Add(uint8(0), uint64(0), uint64(1<<63), []byte{}, []byte{})
	f.Add(uint8(2), uint64(1<<64-1), uint64(5), []byte{3, 'a', 'b', 'c'}, make([]byte, 68))
	f.Fuzz(func(t *testing.T, sel uint8, fork, start uint64, values, sig []byte) {
		pick := int(sel % pickReaders)
		c, st, fw := world().open(t, pick, true)
		u := core.Update{Fork: fork, Start: start, Values: unpackValues(values), Signature: sig}
		switch {
		case sel&8 != 0:
			u.Manifest = fw.m.manifest(keyPair(999))
			if u.Manifest == nil {
				u.Manifest = core.DefaultManifest(1, keyPair(999).PublicKey)
			}
		case sel&4 != 0:
			u.Manifest = fw.manifest
		}
		before := snapshot(t, c, st, 16)
		res, err := c.ApplyUpdate(context.Background(), &u)
		checkApplied(t, err, c, st, fw, before, true)
		if err == nil && (res.Length != c.Length() || res.Fork != c.Fork() || !bytes.Equal(res.Signature, c.Signature())) {
			t.Fatalf("result %+v does not match the follower", res)
		}
	})
}

// TestManifestV0Forms checks version 0 manifests both ways against the
// layout JavaScript Hypercore writes (lib/messages.js manifestv0, spec
// §2.2): type 1 is for exactly quorum 1, one signer and no patch; anything
// else with signers is type 2, quorum 0 included. A manifest's bytes are its
// core key, so the Go encoder must pick the same type.
func TestManifestV0Forms(t *testing.T) {
	signer := append([]byte{0x00}, bytes.Repeat([]byte{0x44}, 64)...)
	cases := []struct {
		name    string
		js      []byte // what JavaScript encodes
		quorum  uint64
		signers int
	}{
		{"one signer, quorum 1: type 1", append([]byte{0x00, 0x00, 0x01}, signer...), 1, 1},
		{"one signer, quorum 0: type 2", append([]byte{0x00, 0x00, 0x02, 0x00, 0x00, 0x01}, signer...), 0, 1},
		{"one signer, quorum 2: type 2", append([]byte{0x00, 0x00, 0x02, 0x00, 0x02, 0x01}, signer...), 2, 1},
		{"two signers, quorum 1: type 2", append(append([]byte{0x00, 0x00, 0x02, 0x00, 0x01, 0x02}, signer...), signer...), 1, 2},
	}
	for _, c := range cases {
		m, err := core.DecodeManifest(c.js)
		if err != nil {
			t.Errorf("%s: decode %x: %v", c.name, c.js, err)
			continue
		}
		if m.Quorum != c.quorum || len(m.Signers) != c.signers {
			t.Errorf("%s: decoded quorum %d, %d signers", c.name, m.Quorum, len(m.Signers))
		}
		if enc := m.Encode(); !bytes.Equal(enc, c.js) {
			t.Errorf("%s: re-encoded as %x, JavaScript writes %x (so the core keys differ)", c.name, enc, c.js)
		}
	}
}
