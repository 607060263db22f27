package storage_test

import (
	"fmt"
	"testing"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/plugins/storage"
	"github.com/corebridge/corebridge/plugins/storage/storagetest"
)

// BenchmarkCommit measures what one value costs to commit, inside the host
// and through the plugin process boundary, in batches of 1 and 100 values.
// A batch is what an append writes: each value as a block of 1 KiB with
// its leaf node, and the header. One core commits at a time, so with bolt
// every commit is one fsync.
func BenchmarkCommit(b *testing.B) {
	for _, backend := range []string{"memory", "bolt"} {
		for _, where := range []string{"in-process", "grpc", "process"} {
			for _, n := range []int{1, 100} {
				b.Run(fmt.Sprintf("%s/%s/values=%d", backend, where, n), func(b *testing.B) {
					benchCommit(b, backend, where, n)
				})
			}
		}
	}
}

func benchCommit(b *testing.B, backend, where string, n int) {
	var s *storage.Store
	switch where {
	case "process":
		s = openProcess(b, backend, b.TempDir())
	case "grpc":
		var impl storage.Backend = storage.NewMemory()
		if backend == "bolt" {
			impl = openBolt(b, b.TempDir())
		}
		s = storage.NewStore(backend, overGRPC(b, impl))
		b.Cleanup(func() { s.Close() })
	default:
		reg, err := storage.NewRegistry(storage.Builtins()...)
		if err != nil {
			b.Fatal(err)
		}
		s, err = storage.Open(b.Context(), storage.Spec{Name: backend, InProcess: true, Builtins: reg, Config: storage.Config{Dir: b.TempDir()}}, testLogger(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
	}
	st, err := s.OpenCore(b.Context(), storagetest.DK(1))
	if err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 1024)
	batch := &core.Batch{Blocks: make([]core.Block, n), Nodes: make([]core.Node, n), Header: &core.Header{}}
	b.SetBytes(int64(n * len(value)))
	var length uint64
	for b.Loop() {
		for j := range n {
			i := length + uint64(j)
			batch.Blocks[j] = core.Block{Index: i, Value: value}
			batch.Nodes[j] = core.Node{Index: 2 * i, Size: uint64(len(value))}
		}
		length += uint64(n)
		batch.Header.Length = length
		if err := st.Commit(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/value")
}
