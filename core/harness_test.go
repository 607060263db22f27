package core_test

// Helpers shared by the randomized, negative, fuzz and benchmark tests: the
// three signing modes, an independent model of a core's Merkle tree, and a
// full snapshot of a core's observable and stored state.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/corebridge/corebridge/core"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// mode is one way a writer signs (spec §3.5).
type mode struct {
	name   string
	compat bool // key = public key, raw 64-byte signatures
	v0     bool // manifest version 0 (else version 1, 68-byte multisig)
}

var modes = []mode{
	{name: "compat", compat: true},
	{name: "manifest-v1"},
	{name: "manifest-v0", v0: true},
}

// writerOptions opens a writable core for kp in this mode.
func (m mode) writerOptions(kp *core.KeyPair) core.Options {
	return core.Options{KeyPair: kp, Compat: m.compat, ManifestV0: m.v0}
}

// manifest returns the manifest a writer in this mode makes for kp (nil in
// compat mode), built independently of Open.
func (m mode) manifest(kp core.KeyPair) *core.Manifest {
	if m.compat {
		return nil
	}
	v := uint64(1)
	if m.v0 {
		v = 0
	}
	return core.DefaultManifest(v, kp.PublicKey)
}

// key returns the core key of kp in this mode.
func (m mode) key(kp core.KeyPair) core.Key {
	if mf := m.manifest(kp); mf != nil {
		return mf.Hash()
	}
	var k core.Key
	copy(k[:], kp.PublicKey)
	return k
}

// signable is the signed message of spec §3.5, computed here rather than by
// the package.
func (m mode) signable(key core.Key, treeHash [32]byte, length, fork uint64) []byte {
	b := append([]byte{}, core.TreeNamespace[:]...)
	switch {
	case m.compat:
	case m.v0:
		b = append(b, core.DefaultSignerNamespace[:]...)
	default:
		b = append(b, key[:]...)
	}
	b = append(b, treeHash[:]...)
	b = binary.LittleEndian.AppendUint64(b, length)
	return binary.LittleEndian.AppendUint64(b, fork)
}

// wrap returns the stored form of a raw ed25519 signature in this mode.
func (m mode) wrap(sig []byte) []byte {
	if m.compat || m.v0 {
		return sig
	}
	out := append([]byte{1, 0}, sig...)
	return append(out, 0, 0)
}

// sign makes a stored signature over (treeHash, length, fork) of core key
// with any secret key: the writer's, or a forger's.
func (m mode) sign(sk ed25519.PrivateKey, key core.Key, treeHash [32]byte, length, fork uint64) []byte {
	return m.wrap(ed25519.Sign(sk, m.signable(key, treeHash, length, fork)))
}

// checkSignature verifies a stored signature with the spec's rules, not the
// package's.
func (m mode) checkSignature(pub ed25519.PublicKey, key core.Key, sig []byte, treeHash [32]byte, length, fork uint64) error {
	raw := sig
	if !m.compat && !m.v0 {
		if len(sig) != 68 || sig[0] != 1 || sig[1] != 0 || sig[66] != 0 || sig[67] != 0 {
			return fmt.Errorf("not a single-signer multisig envelope: %x", sig)
		}
		raw = sig[2:66]
	}
	if len(raw) != ed25519.SignatureSize || !ed25519.Verify(pub, m.signable(key, treeHash, length, fork), raw) {
		return fmt.Errorf("signature %x does not verify for length %d fork %d", sig, length, fork)
	}
	return nil
}

// keyPair returns a deterministic key pair.
func keyPair(n uint64) core.KeyPair {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], n)
	copy(seed[8:], "corebridge core tests")
	return core.KeyPairFromSeed(seed)
}

// model is an independent implementation of the Merkle tree of spec §3: the
// values a core should hold, and every node of their tree.
type model struct {
	values [][]byte
	leaves []core.Node
}

func (md *model) append(values ...[]byte) {
	for _, v := range values {
		md.leaves = append(md.leaves, core.LeafNode(uint64(len(md.values)), v))
		md.values = append(md.values, bytes.Clone(v))
	}
}

func (md *model) truncate(n uint64) {
	md.values, md.leaves = md.values[:n], md.leaves[:n]
}

func (md *model) length() uint64 { return uint64(len(md.values)) }

func (md *model) byteLength() (n uint64) {
	for _, v := range md.values {
		n += uint64(len(v))
	}
	return n
}

// nodes returns every node of the tree of the first n values: each leaf and
// each parent whose subtree is complete, by flat index.
func (md *model) nodes(n uint64) map[uint64]core.Node {
	out := make(map[uint64]core.Node, 2*n)
	level := make([]core.Node, n)
	copy(level, md.leaves[:n])
	for len(level) > 0 {
		var up []core.Node
		for i, x := range level {
			out[x.Index] = x
			if i%2 == 1 {
				up = append(up, core.ParentNode(level[i-1], x))
			}
		}
		level = up
	}
	return out
}

// roots returns the full roots of the first n values: the largest complete
// subtrees, left to right.
func (md *model) roots(n uint64) []core.Node {
	all := md.nodes(n)
	var roots []core.Node
	var start uint64 // first leaf (block index) not yet under a root
	for start < n {
		width := uint64(1)
		for width*2 <= n-start && start%(width*2) == 0 {
			width *= 2
		}
		// The node over blocks [start, start+width): depth log2(width).
		depth := uint64(0)
		for 1<<depth < width {
			depth++
		}
		idx := (start/width)<<(depth+1) | (1<<depth - 1)
		roots = append(roots, all[idx])
		start += width
	}
	return roots
}

func (md *model) treeHash(n uint64) [32]byte { return core.TreeHash(md.roots(n)) }

// state is everything observable about a core, including what its storage
// holds: a forged proof must leave all of it as it was.
type state struct {
	Length, ByteLength, Fork uint64
	TreeHash                 [32]byte
	Signature                []byte
	Manifest                 []byte
	Roots                    []core.Node
	Blocks                   []core.Block
	Nodes                    []core.Node
}

// snapshot reads c's state and every block and tree node its storage holds
// below flat index 2*span+2 (span at least the largest length c had).
func snapshot(t testing.TB, c *core.Core, st *core.MemoryStorage, span uint64) state {
	t.Helper()
	ctx := context.Background()
	info := c.Info()
	s := state{
		Length: info.Length, ByteLength: info.ByteLength, Fork: info.Fork,
		TreeHash: info.TreeHash, Signature: info.Signature, Manifest: info.Manifest,
		Roots: c.Roots(),
	}
	var err error
	if s.Blocks, err = st.ReadBlocks(ctx, 0, math.MaxUint64); err != nil {
		t.Fatalf("read blocks: %v", err)
	}
	idx := make([]uint64, 2*span+2)
	for i := range idx {
		idx[i] = uint64(i)
	}
	if s.Nodes, err = st.ReadNodes(ctx, idx); err != nil {
		t.Fatalf("read nodes: %v", err)
	}
	return s
}

// equate compares nil and empty alike, and byte strings with bytes.Equal:
// go-cmp walks a []byte element by element, far too slowly for blocks.
var equate = cmp.Options{
	cmpopts.EquateEmpty(),
	cmp.FilterValues(func(x, y []byte) bool { return len(x)+len(y) > 0 }, cmp.Comparer(bytes.Equal)),
}

// diffState compares two snapshots; go-cmp only explains a difference.
func diffState(want, got state) string {
	if sameState(want, got) {
		return ""
	}
	if d := cmp.Diff(want, got, equate); d != "" {
		return d
	}
	return fmt.Sprintf("states differ: %+v\n%+v", want, got)
}

func sameState(a, b state) bool {
	if a.Length != b.Length || a.ByteLength != b.ByteLength || a.Fork != b.Fork || a.TreeHash != b.TreeHash ||
		!bytes.Equal(a.Signature, b.Signature) || !bytes.Equal(a.Manifest, b.Manifest) ||
		!slices.Equal(a.Roots, b.Roots) || !slices.Equal(a.Nodes, b.Nodes) || len(a.Blocks) != len(b.Blocks) {
		return false
	}
	for i := range a.Blocks {
		if a.Blocks[i].Index != b.Blocks[i].Index || !bytes.Equal(a.Blocks[i].Value, b.Blocks[i].Value) {
			return false
		}
	}
	return true
}

// headerOf is the signed part of a snapshot: what a writer and a reader that
// follows it must agree on.
type header struct {
	Length, ByteLength, Fork uint64
	TreeHash                 [32]byte
	Signature                []byte
	Roots                    []core.Node
}

func headerOf(c *core.Core) header {
	info := c.Info()
	h := header{info.Length, info.ByteLength, info.Fork, info.TreeHash, info.Signature, c.Roots()}
	if h.Length == 0 && h.Fork == 0 {
		// A writer that appended an empty batch to a new core has signed
		// (length 0, fork 0); nothing can send that to a reader, which
		// stays unsigned. The state is the same.
		h.Signature = nil
	}
	return h
}

// checkAgainstModel checks that c's signed state is md's tree at c's length
// under the given fork, signed by pub as spec §3.5 says.
func checkAgainstModel(m mode, pub ed25519.PublicKey, c *core.Core, md *model, fork uint64) error {
	h := headerOf(c)
	if h.Length != md.length() {
		return fmt.Errorf("length %d, model has %d", h.Length, md.length())
	}
	if h.Fork != fork {
		return fmt.Errorf("fork %d, want %d", h.Fork, fork)
	}
	if h.ByteLength != md.byteLength() {
		return fmt.Errorf("byte length %d, model has %d", h.ByteLength, md.byteLength())
	}
	if d := cmp.Diff(md.roots(h.Length), h.Roots, equate); d != "" {
		return fmt.Errorf("roots (-model +core):\n%s", d)
	}
	if th := md.treeHash(h.Length); th != h.TreeHash {
		return fmt.Errorf("tree hash %x, model %x", h.TreeHash, th)
	}
	if h.Length == 0 && h.Fork == 0 {
		return nil // a new core has signed nothing
	}
	return m.checkSignature(pub, c.Key(), h.Signature, h.TreeHash, h.Length, h.Fork)
}

// checkStorage checks what st holds for a core of length n against md:
// blocks below n equal to md's, none at or past n; tree nodes equal to md's,
// none reaching past n. full says every block and node must be there (a
// writer, or a reader fed by updates); otherwise a subset is fine.
func checkStorage(t testing.TB, st *core.MemoryStorage, md *model, n, span uint64, full bool) error {
	t.Helper()
	ctx := context.Background()
	blocks, err := st.ReadBlocks(ctx, 0, math.MaxUint64)
	if err != nil {
		return err
	}
	for _, b := range blocks {
		if b.Index >= n {
			return fmt.Errorf("block %d stored past length %d", b.Index, n)
		}
		if !bytes.Equal(b.Value, md.values[b.Index]) {
			return fmt.Errorf("block %d is %d bytes %.16x, want %d bytes %.16x", b.Index, len(b.Value), b.Value, len(md.values[b.Index]), md.values[b.Index])
		}
	}
	if full && uint64(len(blocks)) != n {
		return fmt.Errorf("%d blocks stored, want %d", len(blocks), n)
	}
	want := md.nodes(n)
	idx := make([]uint64, 2*span+2)
	for i := range idx {
		idx[i] = uint64(i)
	}
	nodes, err := st.ReadNodes(ctx, idx)
	if err != nil {
		return err
	}
	for _, x := range nodes {
		w, ok := want[x.Index]
		if !ok {
			return fmt.Errorf("node %d stored, but it is not in the tree of length %d", x.Index, n)
		}
		if w != x {
			return fmt.Errorf("node %d stored as %+v, the tree of length %d has %+v", x.Index, x, n, w)
		}
	}
	if full && len(nodes) != len(want) {
		return fmt.Errorf("%d tree nodes stored, the tree of length %d has %d", len(nodes), n, len(want))
	}
	return nil
}
