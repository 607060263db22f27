// Package storagetest is the conformance suite of corebridge storage
// backends. A backend, builtin or external, in the host or behind the
// plugin protocol, is correct for corebridge when it passes Run, and, if it
// keeps data across restarts, RunReopen:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) corestore.Backend {
//			return storage.NewStore("mine", newMine(t.TempDir()))
//		})
//	}
//
// The randomized tests print their seed; set STORAGETEST_SEED to replay one.
package storagetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/corestore"
)

// SeedEnv names the environment variable that fixes the seed of the
// randomized tests.
const SeedEnv = "STORAGETEST_SEED"

// Run runs the conformance suite. open must return a fresh, empty backend
// each time it is called; the suite closes every backend it opens.
func Run(t *testing.T, open func(t *testing.T) corestore.Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b corestore.Backend)
	}{
		{"Empty", testEmpty},
		{"RoundTrip", testRoundTrip},
		{"Ranges", testRanges},
		{"EmptyBlocks", testEmptyBlocks},
		{"NodesInRequestOrder", testNodesInRequestOrder},
		{"DropsBeforeWrites", testDropsBeforeWrites},
		{"Header", testHeader},
		{"NoAliasing", testNoAliasing},
		{"Isolation", testIsolation},
		{"AllOrNothing", testAllOrNothing},
		{"ListAndDelete", testListAndDelete},
		{"LargeValues", testLargeValues},
		{"Concurrent", testConcurrent},
		{"Randomized", testRandomized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := open(t)
			t.Cleanup(func() {
				if err := b.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, b)
		})
	}
	t.Run("Closed", func(t *testing.T) { testClosed(t, open(t)) })
}

// ctx returns a context that ends with the test, bounded so that a hung
// backend fails the test instead of stalling it.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// DK returns a discovery key made from i, for tests.
func DK(i int) [32]byte {
	var dk [32]byte
	copy(dk[:], fmt.Sprintf("storagetest core %015d", i))
	return dk
}

// Node returns a tree node with a hash made from index and salt.
func Node(index uint64, salt byte) core.Node {
	n := core.Node{Index: index, Size: index*7 + uint64(salt)}
	for i := range n.Hash {
		n.Hash[i] = byte(index>>(8*(i%8))) ^ salt ^ byte(i)
	}
	return n
}

// Value returns a block value of n bytes made from index and salt.
func Value(index uint64, salt byte, n int) []byte {
	v := make([]byte, n)
	for i := range v {
		v[i] = byte(index) ^ salt ^ byte(i*31)
	}
	return v
}

func openCore(t *testing.T, b corestore.Backend, dk [32]byte) core.Storage {
	t.Helper()
	s, err := b.OpenCore(ctx(t), dk)
	if err != nil {
		t.Fatalf("OpenCore(%x): %v", dk[:8], err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func commit(t *testing.T, s core.Storage, b *core.Batch) {
	t.Helper()
	if err := s.Commit(ctx(t), b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func readHeader(t *testing.T, s core.Storage) *core.Header {
	t.Helper()
	h, err := s.ReadHeader(ctx(t))
	if err != nil {
		t.Fatalf("ReadHeader: %v", err)
	}
	return h
}

func readBlocks(t *testing.T, s core.Storage, start, end uint64) []core.Block {
	t.Helper()
	blocks, err := s.ReadBlocks(ctx(t), start, end)
	if err != nil {
		t.Fatalf("ReadBlocks(%d, %d): %v", start, end, err)
	}
	if len(blocks) == 0 {
		return nil
	}
	return blocks
}

func readNodes(t *testing.T, s core.Storage, indexes []uint64) []core.Node {
	t.Helper()
	nodes, err := s.ReadNodes(ctx(t), indexes)
	if err != nil {
		t.Fatalf("ReadNodes(%v): %v", indexes, err)
	}
	if len(nodes) == 0 {
		return nil
	}
	return nodes
}

func listCores(t *testing.T, b corestore.Backend) [][32]byte {
	t.Helper()
	dks, err := b.ListCores(ctx(t))
	if err != nil {
		t.Fatalf("ListCores: %v", err)
	}
	if len(dks) == 0 {
		return nil
	}
	slices.SortFunc(dks, func(a, b [32]byte) int { return slices.Compare(a[:], b[:]) })
	return dks
}

// seed returns the seed of a randomized test and logs it.
func seed(t *testing.T) uint64 {
	t.Helper()
	s := uint64(time.Now().UnixNano())
	if env := os.Getenv(SeedEnv); env != "" {
		var err error
		if s, err = strconv.ParseUint(env, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", SeedEnv, env, err)
		}
	}
	t.Logf("seed %d (replay with %s=%d)", s, SeedEnv, s)
	return s
}

// mustFailWith checks that err is an error matching target.
func mustFailWith(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one matching %v", what, err, target)
	}
}

func ptr(i uint64) *uint64 { return &i }

const maxIndex = math.MaxUint64
