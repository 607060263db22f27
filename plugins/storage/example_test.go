package storage_test

import (
	"context"
	"fmt"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/plugins/storage"
)

// A Store hands out one core.Storage per core. A commit is one atomic
// batch: here a truncate and the append after it.
func ExampleStore() {
	ctx := context.Background()
	s := storage.NewStore("memory", storage.NewMemory())
	defer s.Close()

	var dk [32]byte // a core's discovery key
	c, err := s.OpenCore(ctx, dk)
	if err != nil {
		panic(err)
	}
	defer c.Close()

	err = c.Commit(ctx, &core.Batch{
		Blocks: []core.Block{{Index: 0, Value: []byte("a")}, {Index: 1, Value: []byte("b")}},
		Header: &core.Header{Length: 2},
	})
	if err != nil {
		panic(err)
	}
	from := uint64(1)
	err = c.Commit(ctx, &core.Batch{
		DropBlocksFrom: &from, // applies before the write below
		Blocks:         []core.Block{{Index: 1, Value: []byte("B")}, {Index: 2, Value: []byte{}}},
		Header:         &core.Header{Fork: 1, Length: 3},
	})
	if err != nil {
		panic(err)
	}

	blocks, _ := c.ReadBlocks(ctx, 0, 10)
	for _, b := range blocks {
		fmt.Printf("block %d: %q\n", b.Index, b.Value)
	}
	h, _ := c.ReadHeader(ctx)
	fmt.Printf("fork %d, length %d\n", h.Fork, h.Length)
	// Output:
	// block 0: "a"
	// block 1: "B"
	// block 2: ""
	// fork 1, length 3
}
