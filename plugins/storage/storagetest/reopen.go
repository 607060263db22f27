package storagetest

import (
	"math/rand/v2"
	"testing"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/corestore"
)

// RunReopen runs the persistence tests of a backend that keeps its data in
// a directory. open(t, dir) must return a backend over the data in dir; the
// suite calls it several times with the same dir, closing the previous
// backend first, and expects to read back exactly what was committed.
func RunReopen(t *testing.T, open func(t *testing.T, dir string) corestore.Backend) {
	t.Run("ExactAfterReopen", func(t *testing.T) { testExactAfterReopen(t, open) })
	t.Run("RandomizedReopen", func(t *testing.T) { testRandomizedReopen(t, open) })
}

// reopener opens a backend over one directory and closes the previous one.
type reopener struct {
	t    *testing.T
	dir  string
	open func(t *testing.T, dir string) corestore.Backend
	cur  corestore.Backend
}

func (r *reopener) reopen() corestore.Backend {
	r.t.Helper()
	r.close()
	r.cur = r.open(r.t, r.dir)
	return r.cur
}

func (r *reopener) close() {
	r.t.Helper()
	if r.cur == nil {
		return
	}
	if err := r.cur.Close(); err != nil {
		r.t.Fatalf("Close: %v", err)
	}
	r.cur = nil
}

// cleanup closes what a failed test left open, without judging the result:
// whatever the backend needs to close may already be gone.
func (r *reopener) cleanup() {
	if r.cur != nil {
		r.cur.Close()
	}
}

func testExactAfterReopen(t *testing.T, open func(t *testing.T, dir string) corestore.Backend) {
	r := &reopener{t: t, dir: t.TempDir(), open: open}
	t.Cleanup(r.cleanup)
	b := r.reopen()
	models := map[[32]byte]*model{DK(0): newModel(), DK(1): newModel(), DK(2): newModel()}
	batches := map[[32]byte][]*core.Batch{
		DK(0): {
			{Header: fullHeader(), Blocks: []core.Block{{Index: 0, Value: []byte{}}, {Index: 1, Value: []byte("one")}, {Index: 2, Value: Value(2, 0, 1000)}}, Nodes: []core.Node{Node(0, 0), Node(1, 0), Node(2, 0)}},
			{DropBlocksFrom: ptr(2), DropNodes: []uint64{1}, Blocks: []core.Block{{Index: 2, Value: []byte("two")}, {Index: 9, Value: nil}}},
		},
		DK(1): {
			{Blocks: []core.Block{{Index: 4, Value: []byte("no header")}}, Nodes: []core.Node{Node(8, 1)}},
		},
		DK(2): {
			{Header: &core.Header{Fork: 1, UserData: map[string][]byte{"a": nil, "b": []byte("B")}}},
		},
	}
	for dk, bs := range batches {
		s := openCore(t, b, dk)
		for _, batch := range bs {
			commit(t, s, batch)
			models[dk].apply(batch)
		}
	}
	// A core written and then deleted is gone after the reopen.
	commit(t, openCore(t, b, DK(3)), &core.Batch{Header: &core.Header{Length: 1}})
	if err := b.DeleteCore(ctx(t), DK(3)); err != nil {
		t.Fatalf("DeleteCore: %v", err)
	}
	models[DK(3)] = newModel()
	checkAll(t, b, models)

	b = r.reopen()
	checkAll(t, b, models)
	b = r.reopen()
	checkAll(t, b, models)
	r.close()
}

func testRandomizedReopen(t *testing.T, open func(t *testing.T, dir string) corestore.Backend) {
	rnd := rand.New(rand.NewPCG(seed(t), 0x4e0))
	r := &reopener{t: t, dir: t.TempDir(), open: open}
	t.Cleanup(r.cleanup)
	models := map[[32]byte]*model{}
	for i := range 3 {
		models[DK(i)] = newModel()
	}
	for round := range 4 {
		b := r.reopen()
		if round > 0 {
			checkAll(t, b, models)
		}
		randomRound(t, rnd, b, models, 60)
	}
	checkAll(t, r.reopen(), models)
	r.close()
}
