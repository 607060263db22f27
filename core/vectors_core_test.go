package core_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/internal/vectors"
)

// walkHypercore replays a vector core's steps on a Go core and compares the
// state after each, then the final blocks, tree nodes and proofs.
func walkHypercore(ctx context.Context, r *recorder, what string, h *vectors.Hypercore) {
	seed := r.hex32(what+" seed", h.KeyPair.Seed)
	kp := core.KeyPairFromSeed(seed)
	r.eq(what+" public key", hex.EncodeToString(kp.PublicKey), h.KeyPair.PublicKey)
	r.eq(what+" secret key", hex.EncodeToString(kp.SecretKey), h.KeyPair.SecretKey)
	opts := core.Options{KeyPair: &kp, Compat: h.Compat}
	var manifest *core.Manifest
	if !h.Compat && h.Manifest != nil {
		opts.ManifestV0 = h.Manifest.Version == 0
		checkManifest(r, what, h.Manifest, h.ManifestEncoded, h.Key)
		var err error
		if manifest, err = core.DecodeManifest(r.hex(what+" manifest", h.ManifestEncoded)); err != nil {
			r.fail("%s: %v", what, err)
			return
		}
		r.eq(what+" manifest hash", manifest.Hash().String(), h.ManifestHash)
	}
	st := core.NewMemoryStorage()
	c, err := core.Open(ctx, st, opts)
	if err != nil {
		r.fail("%s: open: %v", what, err)
		return
	}
	defer c.Close()
	r.eq(what+" key", c.Key().String(), h.Key)
	r.eq(what+" discovery key", c.DiscoveryKey().String(), h.DiscoveryKey)
	r.eq(what+" id", c.ID(), h.ID)

	for i, step := range h.Steps {
		sw := fmt.Sprintf("%s step %d (%s)", what, i, step.Op)
		switch step.Op {
		case "append":
			values := make([][]byte, len(step.Blocks))
			for j, b := range step.Blocks {
				values[j] = r.hex(sw+" block", b.Encoded)
				checkValue(r, sw, b)
				r.eq(sw+" block index", b.Index, c.Length()+uint64(j))
			}
			res, err := c.Append(ctx, values)
			if err != nil {
				r.fail("%s: %v", sw, err)
				return
			}
			if step.Result == nil {
				r.fail("%s: no result in vector", sw)
				return
			}
			r.eq(sw+" result", [2]uint64{res.Length, res.ByteLength}, [2]uint64{step.Result.Length, step.Result.ByteLength})
		case "truncate":
			if err := c.Truncate(ctx, step.NewLength); err != nil {
				r.fail("%s: %v", sw, err)
				return
			}
		default:
			r.fail("%s: unknown op", sw)
			return
		}
		checkState(r, sw, c, step.After, manifest != nil && manifest.Version > 0)
	}
	checkFinal(ctx, r, what, c, st, h)
	checkProofs(ctx, r, what, c, st, manifest, h)

	// A core reopened from its storage is the same core.
	re, err := core.Open(ctx, st.Reopen(), core.Options{KeyPair: &kp, Compat: h.Compat, ManifestV0: opts.ManifestV0})
	if err != nil {
		r.fail("%s: reopen: %v", what, err)
		return
	}
	defer re.Close()
	if len(h.Steps) > 0 {
		checkState(r, what+" reopened", re, h.Steps[len(h.Steps)-1].After, manifest != nil && manifest.Version > 0)
	}
}

func checkState(r *recorder, what string, c *core.Core, want vectors.State, multisig bool) {
	info := c.Info()
	r.eq(what+" length", info.Length, want.Length)
	r.eq(what+" byteLength", info.ByteLength, want.ByteLength)
	r.eq(what+" fork", info.Fork, want.Fork)
	r.eq(what+" roots", c.Roots(), nodesOf(r, what+" roots", want.Roots))
	r.eq(what+" treeHash", hex.EncodeToString(info.TreeHash[:]), want.TreeHash)
	r.eq(what+" signable", hex.EncodeToString(c.Signable()), want.Signable)
	r.eq(what+" signature", hex.EncodeToString(info.Signature), want.Signature)
	raw := info.Signature
	if multisig && len(raw) == 68 {
		raw = raw[2:66]
	}
	r.eq(what+" ed25519 signature", hex.EncodeToString(raw), want.SignatureEd25519)
}

func checkFinal(ctx context.Context, r *recorder, what string, c *core.Core, st *core.MemoryStorage, h *vectors.Hypercore) {
	r.eq(what+" block count", uint64(len(h.Blocks)), c.Length())
	for _, b := range h.Blocks {
		bw := fmt.Sprintf("%s block %d", what, b.Index)
		got, err := c.Get(ctx, b.Index)
		if err != nil {
			r.fail("%s: %v", bw, err)
			continue
		}
		r.eq(bw+" bytes", hex.EncodeToString(got), b.Encoded)
		checkValue(r, bw, b)
		leaf := core.LeafNode(b.Index, got)
		r.eq(bw+" leaf hash", hex.EncodeToString(leaf.Hash[:]), b.LeafHash)
	}
	// Every node the core stores, and only those, is in the vector.
	var all []uint64
	for i := uint64(0); i < 2*c.Length(); i++ {
		all = append(all, i)
	}
	stored, err := st.ReadNodes(ctx, all)
	if err != nil {
		r.fail("%s: read nodes: %v", what, err)
		return
	}
	r.eq(what+" tree nodes", stored, nodesOf(r, what+" tree nodes", h.TreeNodes))
}

func checkProofs(ctx context.Context, r *recorder, what string, c *core.Core, st core.Storage, m *core.Manifest, h *vectors.Hypercore) {
	r.eq(what+" has proofs", len(h.Proofs) > 0, true)
	for i, v := range h.Proofs {
		pw := fmt.Sprintf("%s proof %d (%s)", what, i, v.Description)
		var req core.ProofRequest
		if b := v.Request.Block; b != nil {
			req.Block = &core.BlockRequest{Index: b.Index, Nodes: b.Nodes}
		}
		if u := v.Request.Upgrade; u != nil {
			req.Upgrade = &core.UpgradeRequest{Start: u.Start, Length: u.Length}
		}
		want := vectorProof(r, pw, v)
		got, err := c.Proof(ctx, req)
		if err != nil {
			r.fail("%s: %v", pw, err)
			continue
		}
		r.eq(pw+" proof", got, want)
		wire := r.hex(pw+" wire", v.WireData)
		r.eq(pw+" wire bytes", hex.EncodeToString(core.EncodeData(0, got)), v.WireData)
		id, decoded, err := core.DecodeData(wire)
		if err != nil {
			r.fail("%s: decode wire: %v", pw, err)
			continue
		}
		r.eq(pw+" decoded wire", [2]any{id, decoded}, [2]any{uint64(0), want})
		verifyVectorProof(ctx, r, pw, c, st, m, decoded)
	}
}

// verifyVectorProof checks a JS proof two ways: a fresh reader core applies
// it when it upgrades from zero; otherwise a verifier holding the writer's
// tree at the proof's start checks it.
func verifyVectorProof(ctx context.Context, r *recorder, what string, writer *core.Core, st core.Storage, m *core.Manifest, p *core.Proof) {
	if p.Upgrade != nil && p.Upgrade.Start == 0 {
		key := writer.Key()
		reader, err := core.Open(ctx, core.NewMemoryStorage(), core.Options{Key: &key, Manifest: m})
		if err != nil {
			r.fail("%s: open reader: %v", what, err)
			return
		}
		defer reader.Close()
		r.eq(what+" reader applies", errString(reader.ApplyProof(ctx, p)), "")
		r.eq(what+" reader length", reader.Length(), writer.Length())
		r.eq(what+" reader tree hash", reader.TreeHash(), writer.TreeHash())
		if p.Block != nil {
			got, err := reader.Get(ctx, p.Block.Index)
			r.eq(what+" reader block", fmt.Sprint(hex.EncodeToString(got), err), fmt.Sprint(hex.EncodeToString(p.Block.Value), nil))
		}
		return
	}
	var start uint64
	if p.Upgrade != nil {
		start = p.Upgrade.Start
	}
	roots, ok := nodesAt(ctx, st, core.FullRoots(2*start))
	if !ok {
		r.fail("%s: writer lacks its roots at %d", what, start)
		return
	}
	trusted := func(i uint64) (core.Node, bool) {
		n, ok := nodesAt(ctx, st, []uint64{i})
		if !ok {
			return core.Node{}, false
		}
		return n[0], true
	}
	r.eq(what+" verifies", errString(core.VerifyProofAt(writer.Key(), m, roots, trusted, p)), "")
}

// nodesAt reads nodes from storage; ok is false unless all are there.
func nodesAt(ctx context.Context, st core.Storage, idx []uint64) ([]core.Node, bool) {
	nodes, err := st.ReadNodes(ctx, idx)
	return nodes, err == nil && len(nodes) == len(idx)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func vectorProof(r *recorder, what string, v vectors.Proof) *core.Proof {
	p := &core.Proof{Fork: v.Proof.Fork}
	if b := v.Proof.Block; b != nil {
		p.Block = &core.BlockProof{Index: b.Index, Value: r.hex(what+" value", b.Value), Nodes: nilIfEmpty(nodesOf(r, what, b.Nodes))}
	}
	if u := v.Proof.Upgrade; u != nil {
		p.Upgrade = &core.UpgradeProof{
			Start: u.Start, Length: u.Length,
			Nodes:           nilIfEmpty(nodesOf(r, what, u.Nodes)),
			AdditionalNodes: nilIfEmpty(nodesOf(r, what, u.AdditionalNodes)),
			Signature:       r.hex(what+" signature", u.Signature),
		}
	}
	return p
}

func nilIfEmpty(n []core.Node) []core.Node {
	if len(n) == 0 {
		return nil
	}
	return n
}

// checkValue checks that a binary or utf-8 block's value is its stored
// bytes, as Hypercore's binary and utf-8 encodings store them. JSON values
// are the json encoding plugin's to check.
func checkValue(r *recorder, what string, b vectors.Block) {
	switch b.ValueEncoding {
	case "binary":
		var v string
		if err := json.Unmarshal(b.Value, &v); err != nil {
			r.fail("%s: binary value: %v", what, err)
		}
		r.eq(what+" binary value", v, b.Encoded)
	case "utf-8", "utf8":
		var v string
		if err := json.Unmarshal(b.Value, &v); err != nil {
			r.fail("%s: utf-8 value: %v", what, err)
		}
		r.eq(what+" utf-8 value", hex.EncodeToString([]byte(v)), b.Encoded)
	}
}
