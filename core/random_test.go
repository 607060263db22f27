package core_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corebridge/corebridge/core"
	"github.com/google/go-cmp/cmp"
)

// The randomized test takes its seed from -seed, else $CORE_SEED, else the
// clock, and logs it, so any failure can be replayed:
//
//	go test ./core -run TestRandomized -seed=N
//	CORE_SEED=N go test ./core -run TestRandomized
var seedFlag = flag.Uint64("seed", 0, "seed of the randomized core tests (0: $CORE_SEED, else the clock)")

func randomSeed(t *testing.T) uint64 {
	t.Helper()
	if *seedFlag != 0 {
		return *seedFlag
	}
	if s := os.Getenv("CORE_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			t.Fatalf("CORE_SEED=%q: %v", s, err)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

// TestRandomized drives a writer core through random appends, truncates and
// reopens, in each signing mode, while two readers follow it: one through
// proofs (the request/data path, over the wire encoding) and one through
// Updates (the replication path). After every step each must hold exactly
// what an independent model of the tree says, and forged, stale or gapped
// messages must be refused without changing anything.
func TestRandomized(t *testing.T) {
	rounds, steps := 4, 120
	if testing.Short() {
		rounds, steps = 2, 40
	}
	runRandomized(t, rounds, steps, 0)
}

// TestRandomizedCached is TestRandomized with every core's storage behind
// one small BlockCache, shared by the writer and both readers, so blocks are
// cached, evicted, truncated and re-appended all the time. Whatever the
// cores read must be exactly what they would read without it.
func TestRandomizedCached(t *testing.T) {
	rounds, steps := 2, 120
	if testing.Short() {
		rounds, steps = 1, 40
	}
	runRandomized(t, rounds, steps, 16<<10)
}

// runRandomized runs rounds of steps random steps in each mode, with the
// cores' storages behind a BlockCache of cacheBytes (none when 0).
func runRandomized(t *testing.T, rounds, steps int, cacheBytes int64) {
	seed := randomSeed(t)
	t.Logf("seed %d (replay with -seed=%d or CORE_SEED=%d)", seed, seed, seed)
	for mi, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			var total counters
			// Past the rounds asked for, a few more run while an outcome
			// the checks below want has not come up yet: a seed that draws
			// none of one kind proves less, not that something is wrong.
			for round := 0; round < rounds || (!total.covered(cacheBytes > 0) && round < 4*rounds); round++ {
				rng := rand.New(rand.NewPCG(seed, uint64(mi)<<32|uint64(round)))
				cache := core.NewBlockCache(cacheBytes)
				h := newHarness(t, m, rng, fmt.Sprintf("seed %d mode %s round %d", seed, m.name, round), cache)
				for step := range steps {
					h.step = step
					h.randomStep()
				}
				h.finish()
				total.add(h.counts)
			}
			t.Logf("%+v", total)
			if cacheBytes > 0 && total.cacheHits == 0 {
				t.Errorf("no read was answered by the block cache")
			}
			// The run must have exercised both outcomes of the checks that
			// have two, or it proves little.
			if total.blockOnlyAccepted == 0 || total.blockOnlyRejected == 0 {
				t.Errorf("block-only proofs: %d accepted, %d rejected; want both", total.blockOnlyAccepted, total.blockOnlyRejected)
			}
			if total.merged == 0 || total.stale == 0 || total.gaps == 0 || total.reorgs == 0 {
				t.Errorf("updates: %d merged runs, %d stale, %d gaps, %d proof reorgs; want each", total.merged, total.stale, total.gaps, total.reorgs)
			}
		})
	}
}

// covered reports whether every outcome runRandomized requires came up.
func (c counters) covered(cached bool) bool {
	return c.blockOnlyAccepted > 0 && c.blockOnlyRejected > 0 &&
		c.merged > 0 && c.stale > 0 && c.gaps > 0 && c.reorgs > 0 &&
		(!cached || c.cacheHits > 0)
}

type counters struct {
	appends, truncates, reopens, proofs, reorgs      int
	blockOnlyAccepted, blockOnlyRejected             int
	updates, merged, stale, gaps, proofGaps, replays int
	anchoredBelowUpgrade                             int
	cacheHits                                        uint64
}

func (c *counters) add(o counters) {
	c.appends += o.appends
	c.truncates += o.truncates
	c.reopens += o.reopens
	c.proofs += o.proofs
	c.reorgs += o.reorgs
	c.blockOnlyAccepted += o.blockOnlyAccepted
	c.blockOnlyRejected += o.blockOnlyRejected
	c.updates += o.updates
	c.merged += o.merged
	c.stale += o.stale
	c.gaps += o.gaps
	c.proofGaps += o.proofGaps
	c.replays += o.replays
	c.anchoredBelowUpgrade += o.anchoredBelowUpgrade
	c.cacheHits += o.cacheHits
}

// harness is one round: a writer, its model, and two readers.
type harness struct {
	t    *testing.T
	ctx  context.Context
	rng  *rand.Rand
	m    mode
	name string
	step int

	kp       core.KeyPair
	key      core.Key
	manifest *core.Manifest // nil in compat mode
	// cache, when not nil, sits in front of every core's storage; the
	// *MemoryStorage fields below are the storages behind it.
	cache *core.BlockCache

	w    *core.Core
	wst  *core.MemoryStorage
	md   model
	fork uint64 // the fork the writer should be at
	span uint64 // the largest length seen, for snapshots

	// pr follows by proofs. prShared is the length of the prefix its tree
	// shares with the writer's (truncates lower it).
	pr       *core.Core
	prst     *core.MemoryStorage
	prOpts   core.Options
	prShared uint64

	// fo follows by Updates; pending are the writer's changes it has not
	// applied yet, applied those it has.
	fo      *core.Core
	fost    *core.MemoryStorage
	foOpts  core.Options
	pending []pendingUpdate
	applied []core.Update

	trace  []string
	counts counters
}

// pendingUpdate is one writer change as an Update, with the writer's signed
// state right after it.
type pendingUpdate struct {
	u     core.Update
	after header
}

func newHarness(t *testing.T, m mode, rng *rand.Rand, name string, cache *core.BlockCache) *harness {
	h := &harness{t: t, ctx: context.Background(), rng: rng, m: m, name: name, cache: cache}
	h.kp = keyPair(rng.Uint64())
	h.key = m.key(h.kp)
	h.manifest = m.manifest(h.kp)
	h.wst = core.NewMemoryStorage()
	opts := m.writerOptions(&h.kp)
	var err error
	if h.w, err = h.open(h.wst, opts); err != nil {
		h.fatalf("open writer: %v", err)
	}
	if h.w.Key() != h.key {
		h.fatalf("writer key %s, want %s", h.w.Key(), h.key)
	}
	if info := h.w.Info(); !bytes.Equal(info.Manifest, encodeManifest(h.manifest)) {
		h.fatalf("writer manifest %x, want %x", info.Manifest, encodeManifest(h.manifest))
	}
	// Readers in manifest mode learn the manifest from the first message,
	// or are given it up front.
	h.prOpts = core.Options{Key: &h.key}
	h.foOpts = core.Options{Key: &h.key}
	if h.manifest != nil && rng.IntN(2) == 0 {
		h.prOpts.Manifest = h.manifest
	}
	if h.manifest != nil && rng.IntN(2) == 0 {
		h.foOpts.Manifest = h.manifest
	}
	h.prst, h.fost = core.NewMemoryStorage(), core.NewMemoryStorage()
	if h.pr, err = h.open(h.prst, h.prOpts); err != nil {
		h.fatalf("open proof reader: %v", err)
	}
	if h.fo, err = h.open(h.fost, h.foOpts); err != nil {
		h.fatalf("open update follower: %v", err)
	}
	t.Cleanup(func() {
		h.w.Close()
		h.pr.Close()
		h.fo.Close()
	})
	return h
}

// open opens a core on st, behind the harness's cache if it has one.
func (h *harness) open(st *core.MemoryStorage, opts core.Options) (*core.Core, error) {
	return core.Open(h.ctx, h.cache.Wrap(st), opts)
}

func encodeManifest(m *core.Manifest) []byte {
	if m == nil {
		return nil
	}
	return m.Encode()
}

func (h *harness) logf(format string, args ...any) {
	h.trace = append(h.trace, fmt.Sprintf("step %d: ", h.step)+fmt.Sprintf(format, args...))
}

// fatalf stops the test with the round's name and its last operations.
func (h *harness) fatalf(format string, args ...any) {
	h.t.Helper()
	tail := h.trace[max(0, len(h.trace)-25):]
	h.t.Fatalf("%s, step %d: %s\nlast operations:\n  %s", h.name, h.step, fmt.Sprintf(format, args...), strings.Join(tail, "\n  "))
}

func (h *harness) randomStep() {
	switch r := h.rng.IntN(100); {
	case r < 38:
		h.appendBatch()
	case r < 48:
		h.truncate()
	case r < 54:
		h.reopenWriter()
	case r < 58:
		h.reopenReaders()
	case r < 76:
		h.syncProofReader()
	case r < 86:
		h.blockOnlyProofs()
	default:
		h.syncFollower(false)
	}
}

// finish brings both readers level with the writer and compares everything.
func (h *harness) finish() {
	h.step = -1
	h.syncFollower(true)
	h.syncProofReader()
	if h.md.length() > 0 || h.pr.Fork() == h.fork {
		if d := cmp.Diff(headerOf(h.w), headerOf(h.pr), equate); d != "" {
			h.fatalf("proof reader differs from the writer at the end (-writer +reader):\n%s", d)
		}
	}
	h.counts.cacheHits = h.cache.Stats().Hits
}

// randomValue returns a block value: often empty, mostly small, sometimes
// large.
func (h *harness) randomValue() []byte {
	var n int
	switch r := h.rng.IntN(100); {
	case r < 8:
		return nil
	case r < 18:
		return []byte{}
	case r < 70:
		n = 1 + h.rng.IntN(64)
	case r < 98:
		n = 65 + h.rng.IntN(4096)
	default:
		n = 64<<10 + h.rng.IntN(448<<10)
	}
	v := make([]byte, n)
	for i := range v {
		v[i] = byte(h.rng.Uint32())
	}
	return v
}

func (h *harness) appendBatch() {
	n := h.rng.IntN(9)
	if h.rng.IntN(10) == 0 {
		n = 9 + h.rng.IntN(40)
	}
	values := make([][]byte, n)
	sizes := make([]int, n)
	for i := range values {
		values[i] = h.randomValue()
		sizes[i] = len(values[i])
	}
	start := h.md.length()
	h.logf("append %d values %v at %d", n, sizes, start)
	res, err := h.w.Append(h.ctx, values)
	if err != nil {
		h.fatalf("append: %v", err)
	}
	h.counts.appends++
	h.md.append(values...)
	h.span = max(h.span, h.md.length())
	want := core.AppendResult{Length: h.md.length(), ByteLength: h.md.byteLength(), Fork: h.fork, Signature: h.w.Signature()}
	if d := cmp.Diff(want, res, equate); d != "" {
		h.fatalf("append result (-want +got):\n%s", d)
	}
	u := core.Update{Fork: res.Fork, Start: start, Signature: res.Signature}
	for _, v := range values {
		u.Values = append(u.Values, bytes.Clone(v))
	}
	// The core must not keep the caller's buffers.
	for _, v := range values {
		for i := range v {
			v[i] ^= 0xff
		}
	}
	h.checkWriter()
	h.pending = append(h.pending, pendingUpdate{u: u, after: headerOf(h.w)})
}

func (h *harness) truncate() {
	length := h.md.length()
	n := length // to the same length: a fork bump
	if length > 0 && h.rng.IntN(4) != 0 {
		n = h.rng.Uint64N(length)
	}
	h.logf("truncate %d to %d (fork %d)", length, n, h.fork+1)
	if err := h.w.Truncate(h.ctx, n); err != nil {
		h.fatalf("truncate to %d: %v", n, err)
	}
	h.counts.truncates++
	h.fork++
	h.md.truncate(n)
	h.prShared = min(h.prShared, n)
	if _, err := h.w.Get(h.ctx, n); !errors.Is(err, core.ErrOutOfRange) {
		h.fatalf("get block %d after truncating to %d: %v, want ErrOutOfRange", n, n, err)
	}
	if err := h.w.Truncate(h.ctx, n+1); !errors.Is(err, core.ErrOutOfRange) {
		h.fatalf("truncate to %d past length %d: %v, want ErrOutOfRange", n+1, n, err)
	}
	h.checkWriter()
	h.pending = append(h.pending, pendingUpdate{
		u:     core.Update{Fork: h.fork, Start: n, Signature: h.w.Signature()},
		after: headerOf(h.w),
	})
}

// checkWriter compares the writer with the model: signed state, every block
// and every stored node.
func (h *harness) checkWriter() {
	if err := checkAgainstModel(h.m, h.kp.PublicKey, h.w, &h.md, h.fork); err != nil {
		h.fatalf("writer: %v", err)
	}
	if err := checkStorage(h.t, h.wst, &h.md, h.md.length(), h.span, true); err != nil {
		h.fatalf("writer storage: %v", err)
	}
	if !h.w.Writable() {
		h.fatalf("writer is not writable")
	}
}

func (h *harness) reopenWriter() {
	h.logf("reopen writer")
	before := snapshot(h.t, h.w, h.wst, h.span)
	st := h.wst.Reopen()
	if err := h.w.Close(); err != nil {
		h.fatalf("close writer: %v", err)
	}
	w, err := h.open(st, h.m.writerOptions(&h.kp))
	if err != nil {
		h.fatalf("reopen writer: %v", err)
	}
	h.w, h.wst = w, st
	h.counts.reopens++
	if d := diffState(before, snapshot(h.t, h.w, h.wst, h.span)); d != "" {
		h.fatalf("reopened writer differs (-before +after):\n%s", d)
	}
	h.checkWriter()
}

func (h *harness) reopenReaders() {
	h.logf("reopen readers")
	reopen := func(c **core.Core, st **core.MemoryStorage, opts core.Options, what string) {
		before := snapshot(h.t, *c, *st, h.span)
		nst := (*st).Reopen()
		(*c).Close()
		nc, err := h.open(nst, opts)
		if err != nil {
			h.fatalf("reopen %s: %v", what, err)
		}
		*c, *st = nc, nst
		if d := diffState(before, snapshot(h.t, nc, nst, h.span)); d != "" {
			h.fatalf("reopened %s differs (-before +after):\n%s", what, d)
		}
		if nc.Writable() {
			h.fatalf("reopened %s is writable", what)
		}
	}
	reopen(&h.pr, &h.prst, h.prOpts, "proof reader")
	reopen(&h.fo, &h.fost, h.foOpts, "update follower")
	h.counts.reopens++
}

// roundTrip sends p over the wire encoding and returns what arrives, which
// must be p.
func (h *harness) roundTrip(p *core.Proof) *core.Proof {
	req := h.rng.Uint64() >> h.rng.IntN(64)
	wire := core.EncodeData(req, p)
	got, dp, err := core.DecodeData(wire)
	if err != nil {
		h.fatalf("decode data %x: %v", wire, err)
	}
	if got != req {
		h.fatalf("request id %d came back as %d", req, got)
	}
	if d := cmp.Diff(p, dp, equate); d != "" {
		h.fatalf("proof changed over the wire (-sent +received):\n%s", d)
	}
	if again := core.EncodeData(got, dp); !bytes.Equal(again, wire) {
		h.fatalf("re-encoding the decoded proof gives %x, want %x", again, wire)
	}
	return dp
}

// needsManifest reports whether a message to c must carry the manifest.
func (h *harness) needsManifest(c *core.Core) bool {
	return h.manifest != nil && c.Info().Manifest == nil
}

// hasNodes reports whether st holds every node in idx.
func (h *harness) hasNodes(st *core.MemoryStorage, idx []uint64) bool {
	nodes, err := st.ReadNodes(h.ctx, idx)
	if err != nil {
		h.fatalf("read nodes: %v", err)
	}
	return len(nodes) == len(idx)
}

// syncProofReader brings the proof reader to the writer's state with one
// upgrade proof, as a replicating peer would ask for it: from the reader's
// length when it shares the writer's tree that far, else from the common
// prefix (a reorg), else from 0 when the reader lacks the roots there.
func (h *harness) syncProofReader() {
	W, L := h.md.length(), h.pr.Length()
	if h.pr.Fork() == h.fork && L == W {
		return
	}
	start := min(L, h.prShared)
	if start == W {
		if W == 0 {
			// An empty writer at a new fork cannot send an upgrade proof:
			// an upgrade adds at least one block.
			h.logf("proof reader cannot follow an empty core at fork %d", h.fork)
			return
		}
		start = W - 1
	}
	if start > 0 && !h.hasNodes(h.prst, core.FullRoots(2*start)) {
		start = 0
	}
	if h.pr.Fork() == h.fork && W > L+1 && h.rng.IntN(4) == 0 {
		h.proofGap(L)
	}
	length := W - start
	if h.rng.IntN(3) == 0 {
		length = 1 + h.rng.Uint64N(W-start)
	}
	req := core.ProofRequest{Upgrade: &core.UpgradeRequest{Start: start, Length: length}}
	block := int64(-1)
	switch r := h.rng.IntN(5); {
	case r == 0:
	case r <= 2 && start == L && L > 0 && h.pr.Fork() == h.fork:
		// A block the reader already has the tree for, below the upgrade:
		// its proof ends at the first node the reader holds.
		idx := h.rng.Uint64N(L)
		lacks, _ := h.lacking(idx)
		block = int64(idx)
		req.Block = &core.BlockRequest{Index: idx, Nodes: lacks}
		h.counts.anchoredBelowUpgrade++
	default:
		block = int64(start + h.rng.Uint64N(length))
		req.Block = &core.BlockRequest{Index: uint64(block)}
	}
	h.logf("proof reader %d/%d -> %d/%d: upgrade %d+%d, block %d", L, h.pr.Fork(), W, h.fork, start, length, block)
	p, err := h.w.Proof(h.ctx, req)
	if err != nil {
		h.fatalf("proof %+v: %v", req, err)
	}
	if h.needsManifest(h.pr) {
		mf, err := core.DecodeManifest(h.w.Info().Manifest)
		if err != nil {
			h.fatalf("decode the writer's manifest: %v", err)
		}
		p.Manifest = mf
	}
	dp := h.roundTrip(p)
	reorg := h.pr.Fork() != h.fork
	if err := h.pr.ApplyProof(h.ctx, dp); err != nil {
		h.fatalf("apply proof %+v: %v", req, err)
	}
	h.counts.proofs++
	if reorg {
		h.counts.reorgs++
	}
	h.prShared = W
	if d := cmp.Diff(headerOf(h.w), headerOf(h.pr), equate); d != "" {
		h.fatalf("proof reader after the proof (-writer +reader):\n%s", d)
	}
	if h.manifest != nil && !bytes.Equal(h.pr.Info().Manifest, h.manifest.Encode()) {
		h.fatalf("proof reader manifest %x, want %x", h.pr.Info().Manifest, h.manifest.Encode())
	}
	if block >= 0 {
		got, err := h.pr.Get(h.ctx, uint64(block))
		if err != nil || !bytes.Equal(got, h.md.values[block]) {
			h.fatalf("proof reader block %d: %.16x, %v; want %.16x", block, got, err, h.md.values[block])
		}
	}
	if err := checkStorage(h.t, h.prst, &h.md, W, h.span, false); err != nil {
		h.fatalf("proof reader storage: %v", err)
	}
	// The same message again changes nothing. Without a block it is stale.
	before := snapshot(h.t, h.pr, h.prst, h.span)
	err = h.pr.ApplyProof(h.ctx, dp)
	switch {
	case dp.Block == nil && !errors.Is(err, core.ErrStaleUpdate):
		h.fatalf("replayed upgrade proof: %v, want ErrStaleUpdate", err)
	case dp.Block != nil && err != nil:
		h.fatalf("replayed block proof: %v", err)
	}
	if d := diffState(before, snapshot(h.t, h.pr, h.prst, h.span)); d != "" {
		h.fatalf("replayed proof changed the reader (-before +after):\n%s", d)
	}
	h.counts.replays++
}

// proofGap offers the proof reader (at length L) an upgrade from past its
// length, which it cannot verify.
func (h *harness) proofGap(L uint64) {
	start := L + 1 + h.rng.Uint64N(h.md.length()-L-1)
	p, err := h.w.Proof(h.ctx, core.ProofRequest{Upgrade: &core.UpgradeRequest{Start: start, Length: h.md.length() - start}})
	if err != nil {
		h.fatalf("proof from %d: %v", start, err)
	}
	if h.needsManifest(h.pr) {
		p.Manifest = h.manifest
	}
	before := snapshot(h.t, h.pr, h.prst, h.span)
	if err := h.pr.ApplyProof(h.ctx, h.roundTrip(p)); !errors.Is(err, core.ErrInvalidProof) {
		h.fatalf("upgrade from %d to a reader at %d: %v, want ErrInvalidProof", start, L, err)
	}
	if d := diffState(before, snapshot(h.t, h.pr, h.prst, h.span)); d != "" {
		h.fatalf("refused gapped proof changed the reader (-before +after):\n%s", d)
	}
	h.counts.proofGaps++
}

// blockOnlyProofs asks for one block without an upgrade, with several
// values of BlockRequest.Nodes around the number of tree levels the proof
// reader lacks above the leaf. A proof is accepted exactly when the node it
// ends at is one the reader holds.
func (h *harness) blockOnlyProofs() {
	L := h.pr.Length()
	if L == 0 || L != h.md.length() || h.pr.Fork() != h.fork {
		return
	}
	idx := h.rng.Uint64N(L)
	leaf := 2 * idx
	holds := func(x uint64) bool { return h.hasNodes(h.prst, []uint64{x}) }
	lacks, depth := h.lacking(idx)
	// First too few levels (refused while nothing is applied), then enough
	// in any order, then 0, which works once the reader holds the leaf.
	var tries []uint64
	if lacks > 0 {
		tries = append(tries, lacks-1, h.rng.Uint64N(lacks))
	}
	more := []uint64{lacks, lacks + 1, depth, depth + 3, lacks + h.rng.Uint64N(depth-lacks+2)}
	h.rng.Shuffle(len(more), func(i, j int) { more[i], more[j] = more[j], more[i] })
	tries = append(append(tries, more...), 0)
	for _, nodes := range tries {
		p, err := h.w.Proof(h.ctx, core.ProofRequest{Block: &core.BlockRequest{Index: idx, Nodes: nodes}})
		if err != nil {
			h.fatalf("block proof %d nodes %d: %v", idx, nodes, err)
		}
		if got, want := uint64(len(p.Block.Nodes)), min(nodes, depth); got != want {
			h.fatalf("block proof %d asked for %d nodes under a root of depth %d: %d nodes, want %d", idx, nodes, depth, got, want)
		}
		if p.Upgrade != nil || p.Fork != h.fork || !bytes.Equal(p.Block.Value, h.md.values[idx]) {
			h.fatalf("block proof %d: %+v", idx, p)
		}
		top := leaf
		for range p.Block.Nodes {
			top = core.Parent(top)
		}
		want := holds(top)
		had := holds(leaf)
		h.logf("block-only proof %d of %d, nodes %d (lacks %d, depth %d): top %d held %v", idx, L, nodes, lacks, depth, top, want)
		before := snapshot(h.t, h.pr, h.prst, h.span)
		err = h.pr.ApplyProof(h.ctx, h.roundTrip(p))
		if !want {
			if !errors.Is(err, core.ErrInvalidProof) {
				h.fatalf("block proof %d ending at node %d the reader lacks: %v, want ErrInvalidProof", idx, top, err)
			}
			if d := diffState(before, snapshot(h.t, h.pr, h.prst, h.span)); d != "" {
				h.fatalf("refused block proof changed the reader (-before +after):\n%s", d)
			}
			h.counts.blockOnlyRejected++
			continue
		}
		if err != nil {
			h.fatalf("block proof %d ending at node %d, which the reader holds: %v", idx, top, err)
		}
		if d := cmp.Diff(before.Roots, h.pr.Roots()); d != "" || h.pr.Length() != L || h.pr.Fork() != h.fork || h.pr.TreeHash() != before.TreeHash {
			h.fatalf("a block proof changed the reader's signed state: %s", d)
		}
		got, err := h.pr.Get(h.ctx, idx)
		if err != nil || !bytes.Equal(got, h.md.values[idx]) {
			h.fatalf("proof reader block %d after its proof: %.16x, %v", idx, got, err)
		}
		if !had && !holds(leaf) {
			h.fatalf("accepted block proof %d did not store leaf %d", idx, leaf)
		}
		h.counts.blockOnlyAccepted++
	}
	if err := checkStorage(h.t, h.prst, &h.md, L, h.span, false); err != nil {
		h.fatalf("proof reader storage: %v", err)
	}
}

// lacking returns how many levels above leaf idx the proof reader lacks up
// to the first node it holds, and the depth of the root over the leaf.
func (h *harness) lacking(idx uint64) (lacks, depth uint64) {
	leaf := 2 * idx
	for _, r := range core.FullRoots(2 * h.pr.Length()) {
		if core.LeftSpan(r) <= leaf && leaf <= core.RightSpan(r) {
			depth = core.Depth(r)
		}
	}
	for x := leaf; !h.hasNodes(h.prst, []uint64{x}) && lacks < depth; x = core.Parent(x) {
		lacks++
	}
	return lacks, depth
}

// merge folds a run of consecutive writer changes into one Update: from the
// lowest start, the values the writer holds after the run, and only the
// last signature.
func merge(run []pendingUpdate) core.Update {
	// Everything before the last change at the lowest start is cut by it.
	first := 0
	for i, p := range run {
		if p.u.Start <= run[first].u.Start {
			first = i
		}
	}
	start := run[first].u.Start
	var values [][]byte
	for _, p := range run[first:] {
		values = append(values[:p.u.Start-start], p.u.Values...)
	}
	last := run[len(run)-1].u
	return core.Update{Fork: last.Fork, Start: start, Values: values, Signature: last.Signature}
}

// syncFollower applies the pending writer changes to the update follower,
// one by one or in merged runs, with stale and gapped updates thrown in.
func (h *harness) syncFollower(all bool) {
	if len(h.applied) > 0 && h.rng.IntN(3) == 0 {
		u := h.applied[h.rng.IntN(len(h.applied))]
		h.expectRefused(u, core.ErrStaleUpdate, "replayed update")
		h.counts.stale++
	}
	for j := 1; j < len(h.pending); j++ {
		if u := h.pending[j].u; u.Start > h.fo.Length() {
			h.expectRefused(h.withManifest(u), core.ErrInvalidProof, fmt.Sprintf("gapped update %d of %d", j, len(h.pending)))
			h.counts.gaps++
			break
		}
	}
	for len(h.pending) > 0 {
		k := 1
		if h.rng.IntN(2) == 0 {
			k += h.rng.IntN(len(h.pending))
		}
		u := h.withManifest(merge(h.pending[:k]))
		after := h.pending[k-1].after
		h.pending = h.pending[k:]
		stale := u.Fork < h.fo.Fork() || (u.Fork == h.fo.Fork() && u.Start+uint64(len(u.Values)) <= h.fo.Length())
		h.logf("update follower %d/%d: %d changes as fork %d start %d +%d values (stale %v)", h.fo.Length(), h.fo.Fork(), k, u.Fork, u.Start, len(u.Values), stale)
		if stale {
			// Only an empty append is stale when it arrives in order.
			h.expectRefused(u, core.ErrStaleUpdate, "update that adds nothing")
		} else {
			res, err := h.fo.ApplyUpdate(h.ctx, &u)
			if err != nil {
				h.fatalf("apply update: %v", err)
			}
			want := core.AppendResult{Length: after.Length, ByteLength: after.ByteLength, Fork: after.Fork, Signature: after.Signature}
			if d := cmp.Diff(want, res, equate); d != "" {
				h.fatalf("update result (-want +got):\n%s", d)
			}
		}
		if d := cmp.Diff(after, headerOf(h.fo), equate); d != "" {
			h.fatalf("update follower after %d changes (-writer then +follower):\n%s", k, d)
		}
		h.applied = append(h.applied, u)
		h.counts.updates++
		if k > 1 {
			h.counts.merged++
		}
		if !all && h.rng.IntN(3) == 0 {
			break
		}
	}
	if len(h.pending) > 0 {
		return
	}
	// Level with the writer: the same blocks and tree nodes.
	if d := cmp.Diff(headerOf(h.w), headerOf(h.fo), equate); d != "" {
		h.fatalf("update follower (-writer +follower):\n%s", d)
	}
	if err := checkStorage(h.t, h.fost, &h.md, h.md.length(), h.span, true); err != nil {
		h.fatalf("update follower storage: %v", err)
	}
	if h.manifest != nil && (h.fo.Length() > 0 || h.fo.Fork() > 0) && !bytes.Equal(h.fo.Info().Manifest, h.manifest.Encode()) {
		h.fatalf("update follower manifest %x, want %x", h.fo.Info().Manifest, h.manifest.Encode())
	}
}

// withManifest attaches the manifest when the follower still lacks it.
func (h *harness) withManifest(u core.Update) core.Update {
	if h.needsManifest(h.fo) {
		u.Manifest = h.manifest
	}
	return u
}

// expectRefused applies u to the follower and requires it to fail with want
// and change nothing.
func (h *harness) expectRefused(u core.Update, want error, what string) {
	h.t.Helper()
	before := snapshot(h.t, h.fo, h.fost, h.span)
	_, err := h.fo.ApplyUpdate(h.ctx, &u)
	if !errors.Is(err, want) {
		h.fatalf("%s (fork %d start %d +%d) to a follower at %d/%d: %v, want %v", what, u.Fork, u.Start, len(u.Values), h.fo.Length(), h.fo.Fork(), err, want)
	}
	if d := diffState(before, snapshot(h.t, h.fo, h.fost, h.span)); d != "" {
		h.fatalf("refused %s changed the follower (-before +after):\n%s", what, d)
	}
}

// TestTruncateDropsCrossingNodes: a truncate (on the writer, and a reorg on
// readers, which share the code) must drop every tree node that covers a
// dropped block, including parents whose left part survives. TestRandomized
// found node 3 (blocks 0-3) left behind by a truncate from 7 to 2: the walk
// up from the new head stopped at its first parent, which does not cross.
func TestTruncateDropsCrossingNodes(t *testing.T) {
	ctx := context.Background()
	for _, m := range modes {
		for _, tc := range []struct{ from, to uint64 }{{7, 2}, {8, 2}, {16, 4}, {16, 9}, {27, 12}, {5, 0}, {4, 3}, {32, 1}} {
			t.Run(fmt.Sprintf("%s/%d-to-%d", m.name, tc.from, tc.to), func(t *testing.T) {
				kp := keyPair(tc.from<<8 | tc.to)
				var md model
				for i := range tc.from {
					md.append([]byte(fmt.Sprintf("block %d", i)))
				}
				st := core.NewMemoryStorage()
				w, err := core.Open(ctx, st, m.writerOptions(&kp))
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				if _, err := w.Append(ctx, md.values); err != nil {
					t.Fatal(err)
				}
				key := w.Key()
				fst := core.NewMemoryStorage()
				fo, err := core.Open(ctx, fst, core.Options{Key: &key, Manifest: m.manifest(kp)})
				if err != nil {
					t.Fatal(err)
				}
				defer fo.Close()
				if _, err := fo.ApplyUpdate(ctx, &core.Update{Values: md.values, Signature: w.Signature()}); err != nil {
					t.Fatal(err)
				}
				if err := w.Truncate(ctx, tc.to); err != nil {
					t.Fatal(err)
				}
				md.truncate(tc.to)
				if err := checkStorage(t, st, &md, tc.to, tc.from, true); err != nil {
					t.Errorf("writer after truncate: %v", err)
				}
				if _, err := fo.ApplyUpdate(ctx, &core.Update{Fork: 1, Start: tc.to, Signature: w.Signature()}); err != nil {
					t.Fatal(err)
				}
				if err := checkStorage(t, fst, &md, tc.to, tc.from, true); err != nil {
					t.Errorf("follower after the truncate update: %v", err)
				}
			})
		}
	}
}
