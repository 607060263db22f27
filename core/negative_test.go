package core_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"

	"github.com/corebridge/corebridge/core"
)

// fixture is a writer of 27 blocks, signed after 9 and after 27, the same
// shape written by a second key pair with other values, and two readers that
// verified the first 9 blocks: one through a proof, one through an Update.
// Each case starts from a fresh copy of a reader's storage.
type fixture struct {
	m           mode
	kp, otherKP core.KeyPair
	key         core.Key
	manifest    *core.Manifest
	w, other    *core.Core
	md, otherMD model
	reader      *core.MemoryStorage // proof reader at length 9
	follower    *core.MemoryStorage // update follower at length 9
	first, next core.Update         // 0 -> 9 and 9 -> 27
	full        core.Update         // 0 -> 27 in one
	otherNext   core.Update         // the other core's 9 -> 27
	otherFull   core.Update         // the other core's 0 -> 27
	forgedSig   []byte              // the other key pair's signature over our state at 27
}

const (
	fixtureFirst = 9
	fixtureLen   = 27
	fixtureSpan  = 64 // at least the largest length, for snapshots
)

func newFixture(t *testing.T, m mode) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{m: m, kp: keyPair(1), otherKP: keyPair(2)}
	f.key = m.key(f.kp)
	f.manifest = m.manifest(f.kp)
	write := func(kp *core.KeyPair, md *model, tag string) (*core.Core, core.Update, core.Update) {
		w, err := core.Open(ctx, core.NewMemoryStorage(), m.writerOptions(kp))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close() })
		var ups [2]core.Update
		for i, n := range []int{fixtureFirst, fixtureLen - fixtureFirst} {
			start := md.length()
			values := make([][]byte, n)
			for j := range values {
				values[j] = []byte(fmt.Sprintf("%s block %d", tag, start+uint64(j)))
			}
			res, err := w.Append(ctx, values)
			if err != nil {
				t.Fatal(err)
			}
			md.append(values...)
			ups[i] = core.Update{Start: start, Values: values, Signature: res.Signature}
		}
		return w, ups[0], ups[1]
	}
	f.w, f.first, f.next = write(&f.kp, &f.md, "ours")
	f.other, _, f.otherNext = write(&f.otherKP, &f.otherMD, "theirs")
	f.full = core.Update{Values: f.md.values, Signature: f.next.Signature}
	f.otherFull = core.Update{Values: f.otherMD.values, Signature: f.otherNext.Signature}
	f.forgedSig = m.sign(f.otherKP.SecretKey, f.key, f.md.treeHash(fixtureLen), fixtureLen, 0)

	// The proof reader verified block 8 with an upgrade to 9, signed by the
	// writer at 9: a writer at 9 made that proof.
	early, err := core.Open(ctx, core.NewMemoryStorage(), m.writerOptions(&f.kp))
	if err != nil {
		t.Fatal(err)
	}
	defer early.Close()
	if _, err := early.Append(ctx, f.md.values[:fixtureFirst]); err != nil {
		t.Fatal(err)
	}
	p, err := early.Proof(ctx, core.ProofRequest{Block: &core.BlockRequest{Index: fixtureFirst - 1}, Upgrade: &core.UpgradeRequest{Start: 0, Length: fixtureFirst}})
	if err != nil {
		t.Fatal(err)
	}
	p.Manifest = f.manifest
	f.reader = core.NewMemoryStorage()
	r, err := core.Open(ctx, f.reader, core.Options{Key: &f.key})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ApplyProof(ctx, p); err != nil {
		t.Fatalf("fixture reader: %v", err)
	}
	r.Close()
	f.follower = core.NewMemoryStorage()
	fo, err := core.Open(ctx, f.follower, core.Options{Key: &f.key})
	if err != nil {
		t.Fatal(err)
	}
	first := f.first
	first.Manifest = f.manifest
	if _, err := fo.ApplyUpdate(ctx, &first); err != nil {
		t.Fatalf("fixture follower: %v", err)
	}
	fo.Close()
	return f
}

// open returns a reader: a copy of tmpl's state, or an empty core with no
// manifest when tmpl is nil.
func (f *fixture) open(t *testing.T, tmpl *core.MemoryStorage) (*core.Core, *core.MemoryStorage) {
	t.Helper()
	st := core.NewMemoryStorage()
	if tmpl != nil {
		st = tmpl.Reopen()
	}
	c, err := core.Open(context.Background(), st, core.Options{Key: &f.key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if tmpl != nil && (c.Length() != fixtureFirst || c.TreeHash() != f.md.treeHash(fixtureFirst)) {
		t.Fatalf("fixture reader at %d, want %d", c.Length(), fixtureFirst)
	}
	return c, st
}

// Proof requests the cases start from. For the reader at 9 of a writer at
// 27: block 10 inside an upgrade 9+3 (block nodes [22], upgrade nodes [18],
// additional nodes [27 39 49 52]); an upgrade 9+18 alone (nodes [18 21 27
// 39 49 52]); block 3 anchored at the reader's root 7 (nodes [4 1 11]). For
// an empty reader: block 5 inside an upgrade 0+27.
var (
	reqBlockUpgrade = core.ProofRequest{Block: &core.BlockRequest{Index: 10}, Upgrade: &core.UpgradeRequest{Start: 9, Length: 3}}
	reqUpgrade      = core.ProofRequest{Upgrade: &core.UpgradeRequest{Start: 9, Length: 18}}
	reqBlockOnly    = core.ProofRequest{Block: &core.BlockRequest{Index: 3, Nodes: 3}}
	reqFresh        = core.ProofRequest{Block: &core.BlockRequest{Index: 5}, Upgrade: &core.UpgradeRequest{Start: 0, Length: 27}}
)

func flip(b []byte, i int) { b[i%len(b)] ^= 0x01 }

func swap(n []core.Node, i, j int) { n[i], n[j] = n[j], n[i] }

// TestProofForgeries applies forged and malformed proofs to a reader and
// checks each is refused with the right error and changes nothing: not the
// length, fork, tree hash or signature, not one stored block or node.
func TestProofForgeries(t *testing.T) {
	type proofCase struct {
		name   string
		fresh  bool              // an empty reader without the manifest, not the reader at 9
		req    core.ProofRequest // asked of the writer
		other  bool              // ask the other core instead
		mutate func(*fixture, *core.Proof)
		want   error           // nil: accepted
		compat error           // the error in compat mode, when it differs
		only   func(mode) bool // nil: every mode
	}
	manifestModes := func(m mode) bool { return !m.compat }
	v1 := func(m mode) bool { return !m.compat && !m.v0 }
	cases := []proofCase{
		// Controls: the unforged proofs are accepted.
		{name: "genuine block and upgrade", req: reqBlockUpgrade},
		{name: "genuine upgrade", req: reqUpgrade},
		{name: "genuine block only", req: reqBlockOnly},
		{name: "genuine proof to an empty reader", fresh: true, req: reqFresh},

		{name: "block value byte flipped", req: reqBlockUpgrade, mutate: func(_ *fixture, p *core.Proof) { flip(p.Block.Value, 3) }, want: core.ErrInvalidSignature},
		{name: "block value byte flipped, block only", req: reqBlockOnly, mutate: func(_ *fixture, p *core.Proof) { flip(p.Block.Value, 3) }, want: core.ErrInvalidProof},
		{name: "block value extended", req: reqBlockUpgrade, mutate: func(_ *fixture, p *core.Proof) { p.Block.Value = append(p.Block.Value, 0) }, want: core.ErrInvalidSignature},
		{name: "block node hash flipped", req: reqBlockUpgrade, mutate: func(_ *fixture, p *core.Proof) { flip(p.Block.Nodes[0].Hash[:], 7) }, want: core.ErrInvalidSignature},
		{name: "block node hash flipped, block only", req: reqBlockOnly, mutate: func(_ *fixture, p *core.Proof) { flip(p.Block.Nodes[1].Hash[:], 31) }, want: core.ErrInvalidProof},
		{name: "block node size changed, block only", req: reqBlockOnly, mutate: func(_ *fixture, p *core.Proof) { p.Block.Nodes[2].Size++ }, want: core.ErrInvalidProof},
		{name: "upgrade node hash flipped", req: reqUpgrade, mutate: func(_ *fixture, p *core.Proof) { flip(p.Upgrade.Nodes[2].Hash[:], 0) }, want: core.ErrInvalidSignature},
		{name: "upgrade node size changed", req: reqUpgrade, mutate: func(_ *fixture, p *core.Proof) { p.Upgrade.Nodes[0].Size++ }, want: core.ErrInvalidSignature},
		{name: "additional node hash flipped", req: reqBlockUpgrade, mutate: func(_ *fixture, p *core.Proof) { flip(p.Upgrade.AdditionalNodes[1].Hash[:], 5) }, want: core.ErrInvalidSignature},
		{name: "signature byte flipped", req: reqBlockUpgrade, mutate: func(_ *fixture, p *core.Proof) { flip(p.Upgrade.Signature, 20) }, want: core.ErrInvalidSignature},
		{name: "signature truncated", req: reqUpgrade, mutate: func(_ *fixture, p *core.Proof) {
			p.Upgrade.Signature = p.Upgrade.Signature[:len(p.Upgrade.Signature)-1]
		}, want: core.ErrInvalidSignature},
		{name: "signature missing", req: reqUpgrade, mutate: func(_ *fixture, p *core.Proof) { p.Upgrade.Signature = nil }, want: core.ErrInvalidSignature},
		{name: "multisig envelope with two proofs", req: reqUpgrade, only: v1, mutate: func(_ *fixture, p *core.Proof) { p.Upgrade.Signature[0] = 2 }, want: core.ErrInvalidSignature},
		{name: "multisig envelope with a patch", req: reqUpgrade, only: v1, mutate: func(_ *fixture, p *core.Proof) { p.Upgrade.Signature[66] = 1 }, want: core.ErrInvalidSignature},
		{name: "raw signature where the envelope belongs", req: reqUpgrade, only: v1, mutate: func(_ *fixture, p *core.Proof) { p.Upgrade.Signature = p.Upgrade.Signature[2:66] }, want: core.ErrInvalidSignature},
		{name: "wrong fork", req: reqBlockUpgrade, mutate: func(_ *fixture, p *core.Proof) { p.Fork++ }, want: core.ErrInvalidSignature},
		{name: "wrong fork, block only", req: reqBlockOnly, mutate: func(_ *fixture, p *core.Proof) { p.Fork++ }, want: core.ErrInvalidProof},

		{name: "block nodes out of order", req: reqBlockOnly, mutate: func(_ *fixture, p *core.Proof) { swap(p.Block.Nodes, 0, 1) }, want: core.ErrInvalidProof},
		{name: "upgrade nodes out of order", req: reqUpgrade, mutate: func(_ *fixture, p *core.Proof) { swap(p.Upgrade.Nodes, 1, 2) }, want: core.ErrInvalidProof},
		{name: "additional nodes out of order", req: reqBlockUpgrade, mutate: func(_ *fixture, p *core.Proof) { swap(p.Upgrade.AdditionalNodes, 1, 2) }, want: core.ErrInvalidProof},
		{name: "block node and upgrade node exchanged", req: reqBlockUpgrade, mutate: func(_ *fixture, p *core.Proof) {
			p.Block.Nodes[0], p.Upgrade.Nodes[0] = p.Upgrade.Nodes[0], p.Block.Nodes[0]
		}, want: core.ErrInvalidProof},

		{name: "block node missing", req: reqBlockUpgrade, mutate: func(_ *fixture, p *core.Proof) { p.Block.Nodes = nil }, want: core.ErrInvalidProof},
		{name: "block node missing, block only", req: reqBlockOnly, mutate: func(_ *fixture, p *core.Proof) { p.Block.Nodes = p.Block.Nodes[:2] }, want: core.ErrInvalidProof},
		{name: "upgrade node missing", req: reqUpgrade, mutate: func(_ *fixture, p *core.Proof) { p.Upgrade.Nodes = p.Upgrade.Nodes[1:] }, want: core.ErrInvalidProof},
		{name: "last upgrade node missing", req: reqUpgrade, mutate: func(_ *fixture, p *core.Proof) { p.Upgrade.Nodes = p.Upgrade.Nodes[:len(p.Upgrade.Nodes)-1] }, want: core.ErrInvalidProof},
		{name: "first additional node missing", req: reqBlockUpgrade, mutate: func(_ *fixture, p *core.Proof) { p.Upgrade.AdditionalNodes = p.Upgrade.AdditionalNodes[1:] }, want: core.ErrInvalidProof},
		// Without the last root the nodes make a well-formed tree of 26
		// blocks, which only the signature (over 27) tells apart.
		{name: "last additional node missing", req: reqBlockUpgrade, mutate: func(_ *fixture, p *core.Proof) {
			p.Upgrade.AdditionalNodes = p.Upgrade.AdditionalNodes[:len(p.Upgrade.AdditionalNodes)-1]
		}, want: core.ErrInvalidSignature},

		{name: "surplus block node", req: reqBlockOnly, mutate: func(_ *fixture, p *core.Proof) {
			p.Block.Nodes = append(p.Block.Nodes, p.Block.Nodes[len(p.Block.Nodes)-1])
		}, want: core.ErrInvalidProof},
		{name: "upgrade node moved into the block nodes", req: reqBlockUpgrade, mutate: func(f *fixture, p *core.Proof) {
			p.Block.Nodes = append(p.Block.Nodes, p.Upgrade.Nodes[0])
			p.Upgrade.Nodes = p.Upgrade.Nodes[1:]
		}, want: core.ErrInvalidProof},
		{name: "surplus upgrade node", req: reqUpgrade, mutate: func(_ *fixture, p *core.Proof) { p.Upgrade.Nodes = append(p.Upgrade.Nodes, p.Upgrade.Nodes[0]) }, want: core.ErrInvalidProof},
		{name: "surplus additional node", req: reqBlockUpgrade, mutate: func(_ *fixture, p *core.Proof) {
			p.Upgrade.AdditionalNodes = append(p.Upgrade.AdditionalNodes, p.Upgrade.AdditionalNodes[0])
		}, want: core.ErrInvalidProof},
		{name: "upgrade node moved to the additional nodes", req: reqBlockUpgrade, mutate: func(_ *fixture, p *core.Proof) {
			p.Upgrade.AdditionalNodes = append(p.Upgrade.Nodes, p.Upgrade.AdditionalNodes...)
			p.Upgrade.Nodes = nil
		}, want: core.ErrInvalidProof},

		{name: "proof of another core", req: reqBlockUpgrade, other: true, want: core.ErrInvalidSignature},
		{name: "proof of another core, block only", req: reqBlockOnly, other: true, want: core.ErrInvalidProof},
		{name: "proof of another core to an empty reader", fresh: true, req: reqFresh, other: true, want: core.ErrInvalidSignature},
		// A forger sends its own tree, signature and manifest.
		{name: "proof of another core with its manifest", fresh: true, req: reqFresh, other: true, only: manifestModes,
			mutate: func(f *fixture, p *core.Proof) { p.Manifest = f.m.manifest(f.otherKP) }, want: core.ErrManifestMismatch},
		{name: "signature by another key pair", req: reqUpgrade, mutate: func(f *fixture, p *core.Proof) { p.Upgrade.Signature = f.forgedSig }, want: core.ErrInvalidSignature},
		{name: "signature by another key pair to an empty reader", fresh: true, req: reqFresh, mutate: func(f *fixture, p *core.Proof) { p.Upgrade.Signature = f.forgedSig }, want: core.ErrInvalidSignature},

		{name: "upgrade starting past the reader's length", req: core.ProofRequest{Upgrade: &core.UpgradeRequest{Start: 12, Length: 15}}, want: core.ErrInvalidProof},
		{name: "upgrade from 10 with a block", req: core.ProofRequest{Block: &core.BlockRequest{Index: 11}, Upgrade: &core.UpgradeRequest{Start: 10, Length: 17}}, want: core.ErrInvalidProof},
		{name: "upgrade to an empty reader starting at 1", fresh: true, req: core.ProofRequest{Upgrade: &core.UpgradeRequest{Start: 1, Length: 26}}, want: core.ErrInvalidProof},
		{name: "upgrade start rewritten", req: reqUpgrade, mutate: func(_ *fixture, p *core.Proof) { p.Upgrade.Start-- }, want: core.ErrInvalidProof},
		{name: "upgrade length zero", req: reqBlockUpgrade, mutate: func(_ *fixture, p *core.Proof) { p.Upgrade.Length = 0 }, want: core.ErrInvalidProof},
		{name: "upgrade length overflowing", req: reqUpgrade, mutate: func(_ *fixture, p *core.Proof) { p.Upgrade.Length = 1<<64 - 1 }, want: core.ErrInvalidProof},
		{name: "block index past the length without an upgrade", req: reqBlockOnly, mutate: func(_ *fixture, p *core.Proof) { p.Block.Index = 9 }, want: core.ErrInvalidProof},
		{name: "block index moved", req: reqBlockOnly, mutate: func(_ *fixture, p *core.Proof) { p.Block.Index = 2 }, want: core.ErrInvalidProof},
		{name: "block index huge", req: reqBlockUpgrade, mutate: func(_ *fixture, p *core.Proof) { p.Block.Index = 1 << 63 }, want: core.ErrInvalidProof},
		{name: "upgrade without its block", req: reqBlockUpgrade, mutate: func(_ *fixture, p *core.Proof) { p.Block = nil }, want: core.ErrInvalidProof},
		{name: "stale upgrade", req: core.ProofRequest{Upgrade: &core.UpgradeRequest{Start: 0, Length: 9}}, mutate: func(f *fixture, p *core.Proof) {
			// What the writer said at 9: nothing new to a reader at 9.
			p.Upgrade.AdditionalNodes = nil
			p.Upgrade.Signature = f.first.Signature
		}, want: core.ErrStaleUpdate},

		{name: "manifest that does not hash to the key", fresh: true, req: reqFresh, mutate: func(f *fixture, p *core.Proof) {
			m := core.DefaultManifest(1, f.otherKP.PublicKey)
			if f.manifest != nil {
				m = f.m.manifest(f.otherKP)
			}
			p.Manifest = m
		}, want: core.ErrManifestMismatch},
		{name: "manifest with another namespace", fresh: true, req: reqFresh, only: manifestModes, mutate: func(f *fixture, p *core.Proof) {
			m := f.m.manifest(f.kp)
			m.Signers[0].Namespace[0] ^= 1
			p.Manifest = m
		}, want: core.ErrManifestMismatch},
		{name: "manifest of the other version", fresh: true, req: reqFresh, only: manifestModes, mutate: func(f *fixture, p *core.Proof) {
			m := f.m.manifest(f.kp)
			m.Version = 1 - m.Version
			p.Manifest = m
		}, want: core.ErrManifestMismatch},
		{name: "no manifest to an empty reader", fresh: true, req: reqFresh, only: manifestModes, mutate: func(_ *fixture, p *core.Proof) { p.Manifest = nil }, want: core.ErrInvalidSignature},
	}
	for _, m := range modes {
		f := newFixture(t, m)
		for _, c := range cases {
			if c.only != nil && !c.only(m) {
				continue
			}
			t.Run(m.name+"/"+c.name, func(t *testing.T) {
				ctx := context.Background()
				tmpl := f.reader
				if c.fresh {
					tmpl = nil
				}
				r, st := f.open(t, tmpl)
				from := f.w
				if c.other {
					from = f.other
				}
				p, err := from.Proof(ctx, c.req)
				if err != nil {
					t.Fatal(err)
				}
				if c.fresh {
					p.Manifest = f.manifest // nil in compat mode
				}
				if c.mutate != nil {
					c.mutate(f, p)
				}
				// Every proof travels over the wire, as a peer's would.
				_, dp, err := core.DecodeData(core.EncodeData(1, p))
				if err != nil {
					t.Fatalf("the forged proof does not decode: %v", err)
				}
				before := snapshot(t, r, st, fixtureSpan)
				err = r.ApplyProof(ctx, dp)
				want := c.want
				if m.compat && c.compat != nil {
					want = c.compat
				}
				if want == nil {
					if err != nil {
						t.Fatalf("genuine proof refused: %v", err)
					}
					if p.Upgrade != nil && (r.Length() != fixtureLen || r.TreeHash() != f.md.treeHash(fixtureLen)) {
						t.Fatalf("reader at %d after a genuine upgrade, want %d", r.Length(), fixtureLen)
					}
					if p.Block != nil {
						if got, err := r.Get(ctx, p.Block.Index); err != nil || !bytes.Equal(got, f.md.values[p.Block.Index]) {
							t.Fatalf("block %d: %q, %v", p.Block.Index, got, err)
						}
					}
					return
				}
				if !errors.Is(err, want) {
					t.Fatalf("ApplyProof: %v, want %v", err, want)
				}
				if d := diffState(before, snapshot(t, r, st, fixtureSpan)); d != "" {
					t.Fatalf("the refused proof changed the reader (-before +after):\n%s", d)
				}
				// And the reader can still take the genuine proof.
				good, err := f.w.Proof(ctx, core.ProofRequest{Block: &core.BlockRequest{Index: 20}, Upgrade: &core.UpgradeRequest{Start: r.Length(), Length: fixtureLen - r.Length()}})
				if err != nil {
					t.Fatal(err)
				}
				if r.Info().Manifest == nil {
					good.Manifest = f.manifest
				}
				if err := r.ApplyProof(ctx, good); err != nil || r.Length() != fixtureLen {
					t.Fatalf("genuine proof after the forgery: %v (length %d)", err, r.Length())
				}
			})
		}
	}
}

// TestDecodeDataMalformed checks that damaged wire bytes of a genuine proof
// are refused by the decoder with ErrInvalidProof.
func TestDecodeDataMalformed(t *testing.T) {
	f := newFixture(t, modes[1])
	p, err := f.w.Proof(context.Background(), reqBlockUpgrade)
	if err != nil {
		t.Fatal(err)
	}
	p.Manifest = f.manifest
	wire := core.EncodeData(5, p)
	if _, _, err := core.DecodeData(wire); err != nil {
		t.Fatalf("genuine: %v", err)
	}
	cases := map[string][]byte{
		"empty":                 {},
		"trailing byte":         append(bytes.Clone(wire), 0),
		"huge node count":       {0x01, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		"huge value length":     {0x01, 0x00, 0x00, 0x00, 0xfe, 0xff, 0xff, 0xff, 0x7f},
		"short varint":          {0xfd, 0x01},
		"manifest version 4":    {0x10, 0x00, 0x00, 0x04},
		"manifest hash type 1":  append([]byte{0x10, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x00}, make([]byte, 64)...),
		"manifest v0 type 3":    {0x10, 0x00, 0x00, 0x00, 0x00, 0x03},
		"65 manifest signers":   append([]byte{0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 65}, make([]byte, 65*65)...),
		"upgrade without bytes": {0x08, 0x00, 0x00},
	}
	for i := 1; i < len(wire); i += 7 {
		cases[fmt.Sprintf("cut at %d of %d", i, len(wire))] = wire[:i]
	}
	for name, b := range cases {
		if _, _, err := core.DecodeData(b); !errors.Is(err, core.ErrInvalidProof) {
			t.Errorf("%s: %v, want ErrInvalidProof", name, err)
		}
	}
}

// TestUpdateForgeries applies forged, stale and gapped Updates to a
// follower and checks each is refused with the right error and changes
// nothing.
func TestUpdateForgeries(t *testing.T) {
	type updateCase struct {
		name   string
		fresh  bool // an empty follower without the manifest
		base   func(*fixture) core.Update
		mutate func(*fixture, *core.Update)
		want   error
		compat error // the error in compat mode, when it differs
		only   func(mode) bool
	}
	next := func(f *fixture) core.Update { return cloneUpdate(f.next) }
	full := func(f *fixture) core.Update {
		u := cloneUpdate(f.full)
		u.Manifest = f.manifest
		return u
	}
	manifestModes := func(m mode) bool { return !m.compat }
	v1 := func(m mode) bool { return !m.compat && !m.v0 }
	cases := []updateCase{
		{name: "genuine", base: next},
		{name: "genuine to an empty follower", fresh: true, base: full},
		{name: "genuine merged with a fork bump", base: func(f *fixture) core.Update {
			// Truncating to 5 and appending the same values: a new fork.
			u := cloneUpdate(f.full)
			u.Start, u.Values, u.Fork = 5, u.Values[5:], 1
			u.Signature = f.m.sign(f.kp.SecretKey, f.key, f.md.treeHash(fixtureLen), fixtureLen, 1)
			return u
		}},

		{name: "value byte flipped", base: next, mutate: func(_ *fixture, u *core.Update) { flip(u.Values[3], 2) }, want: core.ErrInvalidSignature},
		{name: "value dropped", base: next, mutate: func(_ *fixture, u *core.Update) { u.Values = u.Values[:len(u.Values)-1] }, want: core.ErrInvalidSignature},
		{name: "value added", base: next, mutate: func(_ *fixture, u *core.Update) { u.Values = append(u.Values, []byte("extra")) }, want: core.ErrInvalidSignature},
		{name: "values swapped", base: next, mutate: func(_ *fixture, u *core.Update) { u.Values[0], u.Values[1] = u.Values[1], u.Values[0] }, want: core.ErrInvalidSignature},
		{name: "value emptied", base: next, mutate: func(_ *fixture, u *core.Update) { u.Values[4] = nil }, want: core.ErrInvalidSignature},
		{name: "signature byte flipped", base: next, mutate: func(_ *fixture, u *core.Update) { flip(u.Signature, 40) }, want: core.ErrInvalidSignature},
		{name: "signature truncated", base: next, mutate: func(_ *fixture, u *core.Update) { u.Signature = u.Signature[:len(u.Signature)-1] }, want: core.ErrInvalidSignature},
		{name: "signature missing", base: next, mutate: func(_ *fixture, u *core.Update) { u.Signature = nil }, want: core.ErrInvalidSignature},
		{name: "signature of the earlier state", base: next, mutate: func(f *fixture, u *core.Update) { u.Signature = f.first.Signature }, want: core.ErrInvalidSignature},
		{name: "multisig envelope with two proofs", base: next, only: v1, mutate: func(_ *fixture, u *core.Update) { u.Signature[0] = 2 }, want: core.ErrInvalidSignature},
		{name: "multisig envelope with trailing bytes", base: next, only: v1, mutate: func(_ *fixture, u *core.Update) { u.Signature = append(u.Signature, 0) }, want: core.ErrInvalidSignature},
		{name: "wrong fork", base: next, mutate: func(_ *fixture, u *core.Update) { u.Fork = 1 }, want: core.ErrInvalidSignature},
		{name: "update of another core", base: func(f *fixture) core.Update { return cloneUpdate(f.otherNext) }, want: core.ErrInvalidSignature},
		{name: "signature by another key pair", base: next, mutate: func(f *fixture, u *core.Update) { u.Signature = f.forgedSig }, want: core.ErrInvalidSignature},
		{name: "update of another core to an empty follower", fresh: true, base: func(f *fixture) core.Update { return cloneUpdate(f.otherFull) }, want: core.ErrInvalidSignature},
		{name: "update of another core with its manifest", fresh: true, only: manifestModes, base: func(f *fixture) core.Update {
			u := cloneUpdate(f.otherFull)
			u.Manifest = f.m.manifest(f.otherKP)
			return u
		}, want: core.ErrManifestMismatch},
		{name: "manifest that does not hash to the key", fresh: true, base: full, mutate: func(f *fixture, u *core.Update) {
			u.Manifest = core.DefaultManifest(1, f.otherKP.PublicKey)
		}, want: core.ErrManifestMismatch},
		{name: "no manifest to an empty follower", fresh: true, only: manifestModes, base: full, mutate: func(_ *fixture, u *core.Update) { u.Manifest = nil }, want: core.ErrInvalidSignature},

		{name: "gap of one block", base: next, mutate: func(_ *fixture, u *core.Update) { u.Start++; u.Values = u.Values[1:] }, want: core.ErrInvalidProof},
		{name: "gap at a new fork", base: next, mutate: func(_ *fixture, u *core.Update) { u.Start += 5; u.Values = u.Values[5:]; u.Fork = 3 }, want: core.ErrInvalidProof},
		{name: "start past the largest length", base: next, mutate: func(_ *fixture, u *core.Update) { u.Start = 1 << 62 }, want: core.ErrInvalidProof},
		{name: "start at the top of uint64", base: next, mutate: func(_ *fixture, u *core.Update) { u.Start = 1<<64 - 1 }, want: core.ErrInvalidProof},
		{name: "stale: the update already applied", base: func(f *fixture) core.Update { return cloneUpdate(f.first) }, want: core.ErrStaleUpdate},
		{name: "stale: nothing new", base: func(f *fixture) core.Update {
			return core.Update{Start: fixtureFirst, Signature: bytes.Clone(f.first.Signature)}
		}, want: core.ErrStaleUpdate},
		{name: "stale: a shorter state under the same fork", base: func(f *fixture) core.Update {
			return core.Update{Start: 0, Values: f.md.values[:4], Signature: bytes.Clone(f.first.Signature)}
		}, want: core.ErrStaleUpdate},
		{name: "block too large", base: next, mutate: func(_ *fixture, u *core.Update) { u.Values[0] = make([]byte, core.MaxBlockSize+1) }, want: core.ErrBlockTooLarge},
	}
	for _, m := range modes {
		f := newFixture(t, m)
		for _, c := range cases {
			if c.only != nil && !c.only(m) {
				continue
			}
			t.Run(m.name+"/"+c.name, func(t *testing.T) {
				ctx := context.Background()
				tmpl := f.follower
				if c.fresh {
					tmpl = nil
				}
				fo, st := f.open(t, tmpl)
				u := c.base(f)
				if c.mutate != nil {
					c.mutate(f, &u)
				}
				before := snapshot(t, fo, st, fixtureSpan)
				res, err := fo.ApplyUpdate(ctx, &u)
				want := c.want
				if m.compat && c.compat != nil {
					want = c.compat
				}
				if want == nil {
					if err != nil {
						t.Fatalf("genuine update refused: %v", err)
					}
					if res.Length != fixtureLen || fo.TreeHash() != f.md.treeHash(fixtureLen) || res.Fork != u.Fork {
						t.Fatalf("follower at %d fork %d after a genuine update", fo.Length(), fo.Fork())
					}
					if err := checkStorage(t, st, &f.md, fixtureLen, fixtureSpan, true); err != nil {
						t.Fatal(err)
					}
					return
				}
				if !errors.Is(err, want) {
					t.Fatalf("ApplyUpdate: %v, want %v", err, want)
				}
				if d := diffState(before, snapshot(t, fo, st, fixtureSpan)); d != "" {
					t.Fatalf("the refused update changed the follower (-before +after):\n%s", d)
				}
				good := full(f)
				if !c.fresh {
					good = next(f)
				}
				if _, err := fo.ApplyUpdate(ctx, &good); err != nil {
					t.Fatalf("genuine update after the forgery: %v", err)
				}
			})
		}
	}
}

func cloneUpdate(u core.Update) core.Update {
	c := u
	c.Values = make([][]byte, len(u.Values))
	for i, v := range u.Values {
		c.Values[i] = bytes.Clone(v)
	}
	c.Signature = bytes.Clone(u.Signature)
	return c
}

// TestOpenWithForeignManifest: a reader given a manifest that does not hash
// to the key it opens is refused before it stores anything.
func TestOpenWithForeignManifest(t *testing.T) {
	ctx := context.Background()
	kp, other := keyPair(1), keyPair(2)
	for _, m := range modes[1:] {
		key := m.key(kp)
		st := core.NewMemoryStorage()
		_, err := core.Open(ctx, st, core.Options{Key: &key, Manifest: m.manifest(other)})
		if !errors.Is(err, core.ErrManifestMismatch) {
			t.Errorf("%s: open with a foreign manifest: %v, want ErrManifestMismatch", m.name, err)
		}
		if h, _ := st.ReadHeader(ctx); h != nil {
			t.Errorf("%s: the refused open stored a header", m.name)
		}
	}
}

// TestForgedSignatureHelper checks the test's own signer against the
// package's: a signature made here with the writer's key verifies there.
func TestForgedSignatureHelper(t *testing.T) {
	for _, m := range modes {
		f := newFixture(t, m)
		sig := m.sign(f.kp.SecretKey, f.key, f.md.treeHash(fixtureLen), fixtureLen, 0)
		if !bytes.Equal(sig, f.w.Signature()) {
			t.Errorf("%s: signature made by the test %x, the writer's %x", m.name, sig, f.w.Signature())
		}
		if !ed25519.Verify(f.kp.PublicKey, f.w.Signable(), ed25519.Sign(f.kp.SecretKey, m.signable(f.key, f.md.treeHash(fixtureLen), fixtureLen, 0))) {
			t.Errorf("%s: the test's signable differs from the package's", m.name)
		}
	}
}
