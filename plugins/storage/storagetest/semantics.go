package storagetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/corestore"
	"github.com/corebridge/corebridge/plugins/storage"
)

func fullHeader() *core.Header {
	h := &core.Header{
		Manifest:  []byte("manifest bytes"),
		Fork:      3,
		Length:    10,
		Signature: Value(99, 1, 68),
		UserData: map[string][]byte{
			"corestore/name": []byte("core-1"),
			"empty":          {},
		},
	}
	copy(h.Key[:], Value(1, 2, 32))
	return h
}

func testEmpty(t *testing.T, b corestore.Backend) {
	s := openCore(t, b, DK(1))
	if h := readHeader(t, s); h != nil {
		t.Errorf("ReadHeader of a new core = %+v, want nil", h)
	}
	if got := readBlocks(t, s, 0, maxIndex); got != nil {
		t.Errorf("ReadBlocks of a new core = %v, want none", got)
	}
	if got := readNodes(t, s, []uint64{0, 1, 2}); got != nil {
		t.Errorf("ReadNodes of a new core = %v, want none", got)
	}
	if got := listCores(t, b); got != nil {
		t.Errorf("ListCores with no header committed = %x, want none", got)
	}
}

func testRoundTrip(t *testing.T, b corestore.Backend) {
	s := openCore(t, b, DK(1))
	batch := &core.Batch{Header: fullHeader()}
	for i := range uint64(10) {
		batch.Blocks = append(batch.Blocks, core.Block{Index: i, Value: Value(i, 0, int(i)*10)})
		batch.Nodes = append(batch.Nodes, Node(2*i, 0))
	}
	commit(t, s, batch)

	if diff := cmp.Diff(storage.NormalizeHeader(batch.Header), readHeader(t, s)); diff != "" {
		t.Errorf("header (-committed +read):\n%s", diff)
	}
	if diff := cmp.Diff(batch.Blocks, readBlocks(t, s, 0, 10)); diff != "" {
		t.Errorf("blocks (-committed +read):\n%s", diff)
	}
	var idx []uint64
	for _, n := range batch.Nodes {
		idx = append(idx, n.Index)
	}
	if diff := cmp.Diff(batch.Nodes, readNodes(t, s, idx)); diff != "" {
		t.Errorf("nodes (-committed +read):\n%s", diff)
	}
	if diff := cmp.Diff([][32]byte{DK(1)}, listCores(t, b)); diff != "" {
		t.Errorf("ListCores (-want +got):\n%s", diff)
	}
}

func testRanges(t *testing.T, b corestore.Backend) {
	s := openCore(t, b, DK(1))
	present := []uint64{0, 1, 2, 5, 7, 9, 1 << 40, maxIndex - 1}
	batch := &core.Batch{}
	for _, i := range present {
		batch.Blocks = append(batch.Blocks, core.Block{Index: i, Value: Value(i, 1, 3)})
	}
	commit(t, s, batch)
	blocks := func(idx ...uint64) []core.Block {
		var out []core.Block
		for _, i := range idx {
			out = append(out, core.Block{Index: i, Value: Value(i, 1, 3)})
		}
		return out
	}
	tests := []struct {
		start, end uint64
		want       []core.Block
	}{
		{0, maxIndex, blocks(present...)},
		{0, 3, blocks(0, 1, 2)},
		{3, 7, blocks(5)},
		{3, 8, blocks(5, 7)},
		{5, 6, blocks(5)},
		{10, 1 << 40, nil},
		{10, 1<<40 + 1, blocks(1 << 40)},
		{maxIndex - 1, maxIndex, blocks(maxIndex - 1)},
		{5, 5, nil},
		{7, 3, nil},
		{3, 4, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, readBlocks(t, s, tt.start, tt.end)); diff != "" {
			t.Errorf("ReadBlocks(%d, %d) (-want +got):\n%s", tt.start, tt.end, diff)
		}
	}
}

func testEmptyBlocks(t *testing.T, b corestore.Backend) {
	s := openCore(t, b, DK(1))
	commit(t, s, &core.Batch{Blocks: []core.Block{
		{Index: 0, Value: []byte{}},
		{Index: 1, Value: nil}, // a nil value is stored as an empty block
		{Index: 3, Value: []byte("x")},
	}})
	got := readBlocks(t, s, 0, 5)
	want := []core.Block{{Index: 0, Value: []byte{}}, {Index: 1, Value: []byte{}}, {Index: 3, Value: []byte("x")}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("ReadBlocks (-want +got):\n%s", diff)
	}
	for _, blk := range got {
		if blk.Value == nil {
			t.Errorf("present block %d read back with a nil Value, want non-nil", blk.Index)
		}
	}
}

func testNodesInRequestOrder(t *testing.T, b corestore.Backend) {
	s := openCore(t, b, DK(1))
	batch := &core.Batch{}
	for i := uint64(0); i < 10; i += 2 {
		batch.Nodes = append(batch.Nodes, Node(i, 5))
	}
	commit(t, s, batch)
	got := readNodes(t, s, []uint64{8, 2, 3, 6, 100, 0, 1 << 50})
	want := []core.Node{Node(8, 5), Node(2, 5), Node(6, 5), Node(0, 5)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadNodes (-want +got):\n%s", diff)
	}
	if got := readNodes(t, s, nil); got != nil {
		t.Errorf("ReadNodes(nil) = %v, want none", got)
	}
}

func testDropsBeforeWrites(t *testing.T, b corestore.Backend) {
	s := openCore(t, b, DK(1))
	first := &core.Batch{}
	for i := range uint64(10) {
		first.Blocks = append(first.Blocks, core.Block{Index: i, Value: Value(i, 0, 4)})
		first.Nodes = append(first.Nodes, Node(i, 0))
	}
	commit(t, s, first)

	// A truncate to 5 and two appends in one batch; node 3 is dropped and
	// written again, node 4 only dropped.
	commit(t, s, &core.Batch{
		DropBlocksFrom: ptr(5),
		DropNodes:      []uint64{3, 4, 42},
		Blocks:         []core.Block{{Index: 5, Value: Value(5, 1, 4)}, {Index: 6, Value: Value(6, 1, 4)}},
		Nodes:          []core.Node{Node(3, 1)},
	})
	want := append(slicesClone(first.Blocks[:5]), core.Block{Index: 5, Value: Value(5, 1, 4)}, core.Block{Index: 6, Value: Value(6, 1, 4)})
	if diff := cmp.Diff(want, readBlocks(t, s, 0, maxIndex)); diff != "" {
		t.Errorf("blocks after truncate and append (-want +got):\n%s", diff)
	}
	wantNodes := []core.Node{Node(0, 0), Node(1, 0), Node(2, 0), Node(3, 1), Node(5, 0)}
	if diff := cmp.Diff(wantNodes, readNodes(t, s, []uint64{0, 1, 2, 3, 4, 5})); diff != "" {
		t.Errorf("nodes after drop and write (-want +got):\n%s", diff)
	}

	// Dropping from 0 empties the core's blocks; a write in the same batch
	// lands after the drop.
	commit(t, s, &core.Batch{DropBlocksFrom: ptr(0), Blocks: []core.Block{{Index: 2, Value: []byte("again")}}})
	if diff := cmp.Diff([]core.Block{{Index: 2, Value: []byte("again")}}, readBlocks(t, s, 0, maxIndex)); diff != "" {
		t.Errorf("blocks after drop from 0 (-want +got):\n%s", diff)
	}
	// Dropping past the end drops nothing.
	commit(t, s, &core.Batch{DropBlocksFrom: ptr(100)})
	if got := len(readBlocks(t, s, 0, maxIndex)); got != 1 {
		t.Errorf("after dropping from 100, %d blocks, want 1", got)
	}
}

func slicesClone(b []core.Block) []core.Block { return append([]core.Block(nil), b...) }

func testHeader(t *testing.T, b corestore.Backend) {
	s := openCore(t, b, DK(1))
	h1 := fullHeader()
	commit(t, s, &core.Batch{Header: h1})

	// A batch without a header keeps the header.
	commit(t, s, &core.Batch{Blocks: []core.Block{{Index: 0, Value: []byte("a")}}})
	if diff := cmp.Diff(storage.NormalizeHeader(h1), readHeader(t, s)); diff != "" {
		t.Errorf("header after a batch without one (-want +got):\n%s", diff)
	}

	// A header replaces the whole header, user data included (no merging).
	h2 := &core.Header{Fork: 4, Length: 1, UserData: map[string][]byte{"other": []byte("v")}}
	commit(t, s, &core.Batch{Header: h2})
	if diff := cmp.Diff(storage.NormalizeHeader(h2), readHeader(t, s)); diff != "" {
		t.Errorf("replaced header (-want +got):\n%s", diff)
	}

	// Empty user data, manifest and signature read back as nil (see
	// storage.NormalizeHeader); a zero header is still a header.
	h3 := &core.Header{UserData: map[string][]byte{}, Manifest: []byte{}, Signature: []byte{}}
	commit(t, s, &core.Batch{Header: h3})
	got := readHeader(t, s)
	if diff := cmp.Diff(&core.Header{}, got); diff != "" {
		t.Errorf("zero header (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][32]byte{DK(1)}, listCores(t, b)); diff != "" {
		t.Errorf("ListCores with a zero header (-want +got):\n%s", diff)
	}
}

func testNoAliasing(t *testing.T, b corestore.Backend) {
	s := openCore(t, b, DK(1))
	h := fullHeader()
	batch := &core.Batch{
		Header: h,
		Blocks: []core.Block{{Index: 0, Value: []byte("value")}},
		Nodes:  []core.Node{Node(0, 1)},
	}
	commit(t, s, batch)
	want := storage.NormalizeHeader(h)

	// The caller reuses what it committed.
	batch.Blocks[0].Value[0] = 'X'
	h.UserData["corestore/name"][0] = 'X'
	h.Manifest[0] = 'X'
	h.Signature[0] = 'X'

	got := readHeader(t, s)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("header changed with the caller's copy (-want +got):\n%s", diff)
	}
	blocks := readBlocks(t, s, 0, 1)
	if diff := cmp.Diff([]core.Block{{Index: 0, Value: []byte("value")}}, blocks); diff != "" {
		t.Errorf("block changed with the caller's copy (-want +got):\n%s", diff)
	}

	// The caller changes what it read.
	got.UserData["corestore/name"][0] = 'Y'
	got.Manifest[0] = 'Y'
	blocks[0].Value[0] = 'Y'
	if diff := cmp.Diff(want, readHeader(t, s)); diff != "" {
		t.Errorf("header changed with a read copy (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]core.Block{{Index: 0, Value: []byte("value")}}, readBlocks(t, s, 0, 1)); diff != "" {
		t.Errorf("block changed with a read copy (-want +got):\n%s", diff)
	}
}

func testIsolation(t *testing.T, b corestore.Backend) {
	a, c := openCore(t, b, DK(1)), openCore(t, b, DK(2))
	commit(t, a, &core.Batch{
		Header: fullHeader(),
		Blocks: []core.Block{{Index: 0, Value: []byte("a")}},
		Nodes:  []core.Node{Node(0, 0)},
	})
	if h := readHeader(t, c); h != nil {
		t.Errorf("another core's header is visible: %+v", h)
	}
	if got := readBlocks(t, c, 0, maxIndex); got != nil {
		t.Errorf("another core's blocks are visible: %v", got)
	}
	if got := readNodes(t, c, []uint64{0}); got != nil {
		t.Errorf("another core's nodes are visible: %v", got)
	}
	// Two handles of one core see the same data.
	a2 := openCore(t, b, DK(1))
	if got := readBlocks(t, a2, 0, maxIndex); len(got) != 1 {
		t.Errorf("second handle of the core reads %d blocks, want 1", len(got))
	}
}

// snapshot is everything a test reads of one core.
type snapshot struct {
	Header *core.Header
	Blocks []core.Block
	Nodes  []core.Node
}

func read(t *testing.T, s core.Storage, nodeIndexes []uint64) snapshot {
	t.Helper()
	return snapshot{readHeader(t, s), readBlocks(t, s, 0, maxIndex), readNodes(t, s, nodeIndexes)}
}

func testAllOrNothing(t *testing.T, b corestore.Backend) {
	s := openCore(t, b, DK(1))
	commit(t, s, &core.Batch{
		Header: fullHeader(),
		Blocks: []core.Block{{Index: 0, Value: []byte("a")}, {Index: 1, Value: []byte("b")}},
		Nodes:  []core.Node{Node(0, 0), Node(2, 0)},
	})
	nodeIdx := []uint64{0, 1, 2, 3}
	before := read(t, s, nodeIdx)

	// Each batch would change everything: drops, writes and header.
	bad := func() *core.Batch {
		return &core.Batch{
			DropBlocksFrom: ptr(0),
			DropNodes:      []uint64{0},
			Blocks:         []core.Block{{Index: 5, Value: []byte("new")}, {Index: 6, Value: []byte("new")}},
			Nodes:          []core.Node{Node(1, 9), Node(3, 9)},
			Header:         &core.Header{Fork: 99},
		}
	}
	canceled, cancel := context.WithCancel(ctx(t))
	cancel()
	err := s.Commit(canceled, bad())
	mustFailWith(t, "Commit with a canceled context", err, context.Canceled)

	dupBlocks := bad()
	dupBlocks.Blocks = append(dupBlocks.Blocks, core.Block{Index: 5, Value: []byte("again")})
	mustFailWith(t, "Commit writing block 5 twice", s.Commit(ctx(t), dupBlocks), storage.ErrInvalidBatch)

	dupNodes := bad()
	dupNodes.Nodes = append(dupNodes.Nodes, Node(3, 10))
	mustFailWith(t, "Commit writing node 3 twice", s.Commit(ctx(t), dupNodes), storage.ErrInvalidBatch)

	mustFailWith(t, "Commit(nil)", s.Commit(ctx(t), nil), storage.ErrInvalidBatch)

	if diff := cmp.Diff(before, read(t, s, nodeIdx)); diff != "" {
		t.Errorf("failed commits left traces (-before +after):\n%s", diff)
	}
	// The core still takes good batches.
	commit(t, s, bad())
	if h := readHeader(t, s); h == nil || h.Fork != 99 {
		t.Errorf("header after a good commit = %+v, want fork 99", h)
	}
}

func testListAndDelete(t *testing.T, b corestore.Backend) {
	for i := range 5 {
		batch := &core.Batch{Blocks: []core.Block{{Index: 0, Value: []byte("x")}}}
		if i%2 == 0 {
			batch.Header = &core.Header{Length: 1}
		}
		commit(t, openCore(t, b, DK(i)), batch)
	}
	if diff := cmp.Diff([][32]byte{DK(0), DK(2), DK(4)}, listCores(t, b)); diff != "" {
		t.Errorf("ListCores lists the cores with a header (-want +got):\n%s", diff)
	}

	s := openCore(t, b, DK(2))
	if err := b.DeleteCore(ctx(t), DK(2)); err != nil {
		t.Fatalf("DeleteCore: %v", err)
	}
	if err := b.DeleteCore(ctx(t), DK(2)); err != nil {
		t.Errorf("DeleteCore of a deleted core: %v", err)
	}
	if err := b.DeleteCore(ctx(t), DK(77)); err != nil {
		t.Errorf("DeleteCore of a core never written: %v", err)
	}
	if err := b.DeleteCore(ctx(t), DK(1)); err != nil {
		t.Errorf("DeleteCore of a core without header: %v", err)
	}
	if diff := cmp.Diff([][32]byte{DK(0), DK(4)}, listCores(t, b)); diff != "" {
		t.Errorf("ListCores after delete (-want +got):\n%s", diff)
	}
	// A handle opened before the delete reads an empty core and can
	// start it again.
	if diff := cmp.Diff(snapshot{}, read(t, s, []uint64{0})); diff != "" {
		t.Errorf("deleted core (-want +got):\n%s", diff)
	}
	commit(t, s, &core.Batch{Header: &core.Header{Length: 7}})
	if h := readHeader(t, s); h == nil || h.Length != 7 {
		t.Errorf("header after recreating = %+v, want length 7", h)
	}
	if got := readBlocks(t, openCore(t, b, DK(1)), 0, maxIndex); got != nil {
		t.Errorf("deleted core without header still has blocks %v", got)
	}
}

func testLargeValues(t *testing.T, b corestore.Backend) {
	s := openCore(t, b, DK(1))
	// Bigger than one gRPC message, in one block and in one batch.
	big := core.Block{Index: 0, Value: Value(0, 3, 5<<20+123)}
	commit(t, s, &core.Batch{Blocks: []core.Block{big}})
	batch := &core.Batch{Header: fullHeader()}
	for i := uint64(1); i <= 100; i++ {
		batch.Blocks = append(batch.Blocks, core.Block{Index: i, Value: Value(i, 3, 64<<10)})
	}
	for i := range uint64(150_000) {
		batch.Nodes = append(batch.Nodes, Node(i, 3))
	}
	batch.DropNodes = make([]uint64, 200_000)
	for i := range batch.DropNodes {
		batch.DropNodes[i] = uint64(i) + 1<<40
	}
	commit(t, s, batch)

	got := readBlocks(t, s, 0, maxIndex)
	want := append([]core.Block{big}, batch.Blocks...)
	if len(got) != len(want) {
		t.Fatalf("read %d blocks, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Index != want[i].Index || string(got[i].Value) != string(want[i].Value) {
			t.Fatalf("block %d: read index %d, %d bytes; want index %d, %d bytes",
				i, got[i].Index, len(got[i].Value), want[i].Index, len(want[i].Value))
		}
	}
	idx := make([]uint64, 0, len(batch.Nodes)+1)
	for i := range batch.Nodes {
		idx = append(idx, batch.Nodes[len(batch.Nodes)-1-i].Index)
	}
	idx = append(idx, 1<<41)
	nodes := readNodes(t, s, idx)
	if len(nodes) != len(batch.Nodes) {
		t.Fatalf("read %d nodes, want %d", len(nodes), len(batch.Nodes))
	}
	for i, n := range nodes {
		if want := batch.Nodes[len(batch.Nodes)-1-i]; n != want {
			t.Fatalf("node %d: read %+v, want %+v", i, n, want)
		}
	}
}
