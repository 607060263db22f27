package storagetest

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/corestore"
	"github.com/corebridge/corebridge/plugins/storage"
)

// model is the simplest storage of one core there is: what a backend must
// read back after the same batches.
type model struct {
	header *core.Header
	blocks map[uint64][]byte
	nodes  map[uint64]core.Node
}

func newModel() *model {
	return &model{blocks: map[uint64][]byte{}, nodes: map[uint64]core.Node{}}
}

func (m *model) apply(b *core.Batch) {
	if b.DropBlocksFrom != nil {
		maps.DeleteFunc(m.blocks, func(i uint64, _ []byte) bool { return i >= *b.DropBlocksFrom })
	}
	for _, i := range b.DropNodes {
		delete(m.nodes, i)
	}
	for _, blk := range b.Blocks {
		v := append([]byte{}, blk.Value...)
		m.blocks[blk.Index] = v
	}
	for _, n := range b.Nodes {
		m.nodes[n.Index] = n
	}
	if b.Header != nil {
		m.header = storage.NormalizeHeader(b.Header)
	}
}

func (m *model) readBlocks(start, end uint64) []core.Block {
	var out []core.Block
	for _, i := range slices.Sorted(maps.Keys(m.blocks)) {
		if i >= start && i < end {
			out = append(out, core.Block{Index: i, Value: m.blocks[i]})
		}
	}
	return out
}

func (m *model) readNodes(indexes []uint64) []core.Node {
	var out []core.Node
	for _, i := range indexes {
		if n, ok := m.nodes[i]; ok {
			out = append(out, n)
		}
	}
	return out
}

// Index ranges of the randomized tests: small, so that drops and
// overwrites hit what earlier batches wrote.
const (
	randBlocks = 48
	randNodes  = 96
)

// randomBatch returns a valid batch of random drops, writes and header.
func randomBatch(r *rand.Rand) *core.Batch {
	b := &core.Batch{}
	if r.IntN(4) == 0 {
		b.DropBlocksFrom = ptr(r.Uint64N(randBlocks))
	}
	for range r.IntN(4) {
		b.DropNodes = append(b.DropNodes, r.Uint64N(randNodes))
	}
	for _, i := range r.Perm(randBlocks)[:r.IntN(8)] {
		n := r.IntN(64)
		if r.IntN(8) == 0 {
			n = 0
		}
		b.Blocks = append(b.Blocks, core.Block{Index: uint64(i), Value: Value(uint64(i), byte(r.Uint32()), n)})
	}
	for _, i := range r.Perm(randNodes)[:r.IntN(8)] {
		b.Nodes = append(b.Nodes, Node(uint64(i), byte(r.Uint32())))
	}
	if r.IntN(3) == 0 {
		h := &core.Header{Fork: r.Uint64N(4), Length: r.Uint64N(randBlocks), Signature: Value(0, byte(r.Uint32()), 64)}
		if r.IntN(2) == 0 {
			h.Manifest = Value(1, byte(r.Uint32()), r.IntN(120))
		}
		for k := range r.IntN(3) {
			if h.UserData == nil {
				h.UserData = map[string][]byte{}
			}
			h.UserData[fmt.Sprint("key", k)] = Value(2, byte(r.Uint32()), r.IntN(5))
		}
		b.Header = h
	}
	return b
}

// randomRound applies random batches to cores and compares reads with the
// models as it goes. One in eight batches is made invalid and must change
// nothing.
func randomRound(t *testing.T, r *rand.Rand, b corestore.Backend, models map[[32]byte]*model, ops int) {
	t.Helper()
	dks := slices.SortedFunc(maps.Keys(models), func(a, b [32]byte) int { return slices.Compare(a[:], b[:]) })
	handles := map[[32]byte]core.Storage{}
	for _, dk := range dks {
		handles[dk] = openCore(t, b, dk)
	}
	for op := range ops {
		dk := dks[r.IntN(len(dks))]
		s, m := handles[dk], models[dk]
		switch r.IntN(3) {
		case 0, 1:
			batch := randomBatch(r)
			if r.IntN(8) == 0 && len(batch.Blocks) > 0 {
				batch.Blocks = append(batch.Blocks, batch.Blocks[0])
				mustFailWith(t, fmt.Sprintf("op %d: invalid Commit", op), s.Commit(ctx(t), batch), storage.ErrInvalidBatch)
				break
			}
			commit(t, s, batch)
			m.apply(batch)
		case 2:
			start, end := r.Uint64N(randBlocks+2), r.Uint64N(randBlocks+2)
			if diff := cmp.Diff(m.readBlocks(start, end), readBlocks(t, s, start, end)); diff != "" {
				t.Fatalf("op %d: core %x: ReadBlocks(%d, %d) (-model +backend):\n%s", op, dk[:4], start, end, diff)
			}
			var idx []uint64
			for range r.IntN(10) {
				idx = append(idx, r.Uint64N(randNodes+2))
			}
			if diff := cmp.Diff(m.readNodes(idx), readNodes(t, s, idx)); diff != "" {
				t.Fatalf("op %d: core %x: ReadNodes(%v) (-model +backend):\n%s", op, dk[:4], idx, diff)
			}
			if diff := cmp.Diff(m.header, readHeader(t, s)); diff != "" {
				t.Fatalf("op %d: core %x: header (-model +backend):\n%s", op, dk[:4], diff)
			}
		}
	}
}

// checkAll compares everything stored with the models.
func checkAll(t *testing.T, b corestore.Backend, models map[[32]byte]*model) {
	t.Helper()
	var listed [][32]byte
	for dk, m := range models {
		s := openCore(t, b, dk)
		all := make([]uint64, randNodes+2)
		for i := range all {
			all[i] = uint64(i)
		}
		want := snapshot{m.header, m.readBlocks(0, maxIndex), m.readNodes(all)}
		if diff := cmp.Diff(want, read(t, s, all)); diff != "" {
			t.Errorf("core %x (-model +backend):\n%s", dk[:4], diff)
		}
		if m.header != nil {
			listed = append(listed, dk)
		}
	}
	slices.SortFunc(listed, func(a, b [32]byte) int { return slices.Compare(a[:], b[:]) })
	if diff := cmp.Diff(listed, listCores(t, b)); diff != "" {
		t.Errorf("ListCores (-model +backend):\n%s", diff)
	}
}

func testRandomized(t *testing.T, b corestore.Backend) {
	r := rand.New(rand.NewPCG(seed(t), 0x5eed))
	models := map[[32]byte]*model{}
	for i := range 4 {
		models[DK(i)] = newModel()
	}
	randomRound(t, r, b, models, 300)
	checkAll(t, b, models)
}

// testConcurrent commits to many cores at once, each core from its own
// goroutine as a Core does, with readers running alongside.
func testConcurrent(t *testing.T, b corestore.Backend) {
	const (
		cores   = 16
		commits = 20
	)
	c := ctx(t)
	models := map[[32]byte]*model{}
	var wg sync.WaitGroup
	errs := make(chan error, 2*cores)
	for i := range cores {
		dk := DK(i)
		m := newModel()
		models[dk] = m
		s := openCore(t, b, dk)
		wg.Go(func() {
			for n := range uint64(commits) {
				batch := &core.Batch{Header: &core.Header{Length: n + 1}, Nodes: []core.Node{Node(n, byte(i))}}
				for j := range uint64(5) {
					batch.Blocks = append(batch.Blocks, core.Block{Index: 5*n + j, Value: Value(5*n+j, byte(i), 10)})
				}
				if err := s.Commit(c, batch); err != nil {
					errs <- fmt.Errorf("core %d commit %d: %w", i, n, err)
					return
				}
				m.apply(batch)
			}
		})
		wg.Go(func() {
			for range commits {
				h, err := s.ReadHeader(c)
				if err != nil {
					errs <- fmt.Errorf("core %d: ReadHeader: %w", i, err)
					return
				}
				if h == nil {
					continue
				}
				// What a header promises is already there.
				blocks, err := s.ReadBlocks(c, 0, 5*h.Length)
				if err != nil {
					errs <- fmt.Errorf("core %d: ReadBlocks: %w", i, err)
					return
				}
				if uint64(len(blocks)) < 5*h.Length {
					errs <- fmt.Errorf("core %d: header says length %d but %d blocks are there", i, h.Length, len(blocks))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkAll(t, b, models)
}

func testClosed(t *testing.T, b corestore.Backend) {
	c := ctx(t)
	s := openCore(t, b, DK(1))
	other := openCore(t, b, DK(1))
	commit(t, s, &core.Batch{Header: &core.Header{Length: 1}})

	if err := s.Close(); err != nil {
		t.Fatalf("Close of a core handle: %v", err)
	}
	_, err := s.ReadHeader(c)
	mustFailWith(t, "ReadHeader on a closed handle", err, storage.ErrClosed)
	mustFailWith(t, "Commit on a closed handle", s.Commit(c, &core.Batch{}), storage.ErrClosed)
	// Other handles of the core go on.
	if h := readHeader(t, other); h == nil {
		t.Errorf("after closing one handle, another reads no header")
	}

	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checks := map[string]error{}
	_, checks["ReadHeader"] = other.ReadHeader(c)
	_, checks["ReadBlocks"] = other.ReadBlocks(c, 0, 1)
	_, checks["ReadNodes"] = other.ReadNodes(c, []uint64{0})
	checks["Commit"] = other.Commit(c, &core.Batch{})
	_, checks["OpenCore"] = b.OpenCore(c, DK(2))
	_, checks["ListCores"] = b.ListCores(c)
	checks["DeleteCore"] = b.DeleteCore(c, DK(1))
	for _, name := range slices.Sorted(maps.Keys(checks)) {
		if !errors.Is(checks[name], storage.ErrClosed) {
			t.Errorf("%s after Close: got %v, want an error matching %v", name, checks[name], storage.ErrClosed)
		}
	}
}
