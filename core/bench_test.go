package core_test

// Benchmarks of the write path, the replication verify path and proofs:
//
//	go test ./core -run '^$' -bench . -benchmem
//
// Append and ApplyUpdate run on a storage that keeps only the header, so
// they measure the core (hashing, signing, verifying) and not a growing map
// of blocks; the Memory variants keep everything.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/corebridge/corebridge/core"
)

// headerOnly is a storage that keeps the header and drops blocks and nodes.
// Append, and ApplyUpdate at the core's own length, read nothing else.
type headerOnly struct{ *core.MemoryStorage }

func (s headerOnly) Commit(ctx context.Context, b *core.Batch) error {
	return s.MemoryStorage.Commit(ctx, &core.Batch{Header: b.Header})
}

func benchValues(n, size int) [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	values := make([][]byte, n)
	for i := range values {
		values[i] = make([]byte, size)
		for j := range values[i] {
			values[i][j] = byte(rng.Uint32())
		}
	}
	return values
}

func reportBlocks(b *testing.B, perOp int) {
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "blocks/s")
}

func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	for _, m := range modes {
		for _, n := range []int{1, 100} {
			for _, memory := range []bool{false, true} {
				if memory && n > 1 {
					continue // a growing map of 100 KiB per op measures the map
				}
				name := fmt.Sprintf("%s/%dx1KiB", m.name, n)
				if memory {
					name += "/Memory"
				}
				b.Run(name, func(b *testing.B) {
					kp := keyPair(1)
					var st core.Storage = headerOnly{core.NewMemoryStorage()}
					if memory {
						st = core.NewMemoryStorage()
					}
					w, err := core.Open(ctx, st, m.writerOptions(&kp))
					if err != nil {
						b.Fatal(err)
					}
					defer w.Close()
					values := benchValues(n, 1024)
					b.SetBytes(int64(n * 1024))
					b.ReportAllocs()
					for b.Loop() {
						if _, err := w.Append(ctx, values); err != nil {
							b.Fatal(err)
						}
					}
					reportBlocks(b, n)
				})
			}
		}
	}
}

// BenchmarkApplyUpdate is the replication verify path: a follower takes
// runs of 100 values of 1 KiB, computing the tree itself and checking one
// signature per run.
func BenchmarkApplyUpdate(b *testing.B) {
	ctx := context.Background()
	const n = 100
	for _, m := range modes {
		b.Run(fmt.Sprintf("%s/%dx1KiB", m.name, n), func(b *testing.B) {
			kp := keyPair(1)
			w, err := core.Open(ctx, headerOnly{core.NewMemoryStorage()}, m.writerOptions(&kp))
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			values := benchValues(n, 1024)
			updates := make([]core.Update, b.N)
			for i := range updates {
				res, err := w.Append(ctx, values)
				if err != nil {
					b.Fatal(err)
				}
				updates[i] = core.Update{Start: res.Length - n, Values: values, Signature: res.Signature}
			}
			key := w.Key()
			fo, err := core.Open(ctx, headerOnly{core.NewMemoryStorage()}, core.Options{Key: &key, Manifest: m.manifest(kp)})
			if err != nil {
				b.Fatal(err)
			}
			defer fo.Close()
			b.SetBytes(n * 1024)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := fo.ApplyUpdate(ctx, &updates[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reportBlocks(b, n)
			if fo.TreeHash() != w.TreeHash() {
				b.Fatal("the follower ended elsewhere")
			}
		})
	}
}

// BenchmarkProof generates proofs from a writer of 4096 blocks of 1 KiB and
// verifies them as a reader would, over the wire encoding: a block with an
// upgrade from 0 to a new reader (one signature check), and a block alone
// to a reader that holds the roots (hashes only).
func BenchmarkProof(b *testing.B) {
	ctx := context.Background()
	const length = 4096
	for _, m := range modes {
		kp := keyPair(1)
		w, err := core.Open(ctx, core.NewMemoryStorage(), m.writerOptions(&kp))
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		if _, err := w.Append(ctx, benchValues(length, 1024)); err != nil {
			b.Fatal(err)
		}
		key := w.Key()
		manifest := m.manifest(kp)
		synced, err := core.Open(ctx, core.NewMemoryStorage(), core.Options{Key: &key, Manifest: manifest})
		if err != nil {
			b.Fatal(err)
		}
		defer synced.Close()
		p, err := w.Proof(ctx, core.ProofRequest{Upgrade: &core.UpgradeRequest{Start: 0, Length: length}})
		if err != nil {
			b.Fatal(err)
		}
		if err := synced.ApplyProof(ctx, p); err != nil {
			b.Fatal(err)
		}
		upgrade := func(i uint64) core.ProofRequest {
			return core.ProofRequest{Block: &core.BlockRequest{Index: i}, Upgrade: &core.UpgradeRequest{Start: 0, Length: length}}
		}
		blockOnly := func(i uint64) core.ProofRequest {
			return core.ProofRequest{Block: &core.BlockRequest{Index: i, Nodes: 64}}
		}
		rng := rand.New(rand.NewPCG(3, 4))
		b.Run(m.name+"/generate/upgrade", func(b *testing.B) {
			for b.Loop() {
				p, err := w.Proof(ctx, upgrade(rng.Uint64N(length)))
				if err != nil {
					b.Fatal(err)
				}
				_ = core.EncodeData(1, p)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "proofs/s")
		})
		b.Run(m.name+"/generate+verify/upgrade", func(b *testing.B) {
			for b.Loop() {
				p, err := w.Proof(ctx, upgrade(rng.Uint64N(length)))
				if err != nil {
					b.Fatal(err)
				}
				_, dp, err := core.DecodeData(core.EncodeData(1, p))
				if err != nil {
					b.Fatal(err)
				}
				r, err := core.Open(ctx, core.NewMemoryStorage(), core.Options{Key: &key, Manifest: manifest})
				if err != nil {
					b.Fatal(err)
				}
				if err := r.ApplyProof(ctx, dp); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "proofs/s")
		})
		b.Run(m.name+"/generate+verify/block-only", func(b *testing.B) {
			for b.Loop() {
				p, err := w.Proof(ctx, blockOnly(rng.Uint64N(length)))
				if err != nil {
					b.Fatal(err)
				}
				_, dp, err := core.DecodeData(core.EncodeData(1, p))
				if err != nil {
					b.Fatal(err)
				}
				if err := synced.ApplyProof(ctx, dp); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "proofs/s")
		})
	}
}
