package core_test

import (
	"context"
	"errors"
	"testing"

	"github.com/corebridge/corebridge/core"
)

func TestSharedPrefix(t *testing.T) {
	ctx := context.Background()
	kp := core.KeyPairFromSeed([32]byte{1})
	c, err := core.Open(ctx, core.NewMemoryStorage(), core.Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	vals := func(n int) [][]byte { return make([][]byte, n) }
	if _, err := c.Append(ctx, vals(10)); err != nil {
		t.Fatal(err)
	}
	if err := c.Truncate(ctx, 6); err != nil { // fork 1
		t.Fatal(err)
	}
	if _, err := c.Append(ctx, vals(6)); err != nil { // length 12
		t.Fatal(err)
	}
	if err := c.Truncate(ctx, 8); err != nil { // fork 2
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fork, length, want uint64
		ok                 bool
	}{
		{2, 8, 8, true},
		{2, 3, 3, true},
		{1, 12, 8, true},
		{0, 10, 6, true},
		{0, 4, 4, true},
		{5, 1, 0, false},
	} {
		got, ok := c.SharedPrefix(tc.fork, tc.length)
		if got != tc.want || ok != tc.ok {
			t.Errorf("SharedPrefix(%d, %d) = %d, %v; want %d, %v", tc.fork, tc.length, got, ok, tc.want, tc.ok)
		}
	}
}

// An empty batch signs nothing, as in JavaScript Hypercore.
func TestEmptyAppendSignsNothing(t *testing.T) {
	ctx := context.Background()
	kp := core.KeyPairFromSeed([32]byte{2})
	c, err := core.Open(ctx, core.NewMemoryStorage(), core.Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := c.Append(ctx, nil)
	if err != nil || res.Length != 0 || c.Signature() != nil {
		t.Fatalf("empty append: %+v, %v, signature %x", res, err, c.Signature())
	}
}

// A proof whose upgrade the reader already has, but whose additional nodes
// take it further, is applied, not refused as stale.
func TestProofWithAdditionalNodesIsNotStale(t *testing.T) {
	ctx := context.Background()
	kp := core.KeyPairFromSeed([32]byte{3})
	w, err := core.Open(ctx, core.NewMemoryStorage(), core.Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	values := func(n int) [][]byte {
		v := make([][]byte, n)
		for i := range v {
			v[i] = []byte{byte(i)}
		}
		return v
	}
	w.Append(ctx, values(9))
	key := w.Key()
	m, _ := core.DecodeManifest(w.Info().Manifest)
	r, err := core.Open(ctx, core.NewMemoryStorage(), core.Options{Key: &key, Manifest: m})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := w.Proof(ctx, core.ProofRequest{Upgrade: &core.UpgradeRequest{Start: 0, Length: 9}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ApplyProof(ctx, p); err != nil {
		t.Fatal(err)
	}
	w.Append(ctx, values(18))
	p, err = w.Proof(ctx, core.ProofRequest{Upgrade: &core.UpgradeRequest{Start: 0, Length: 9}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Upgrade.AdditionalNodes) == 0 {
		t.Fatal("the proof has no additional nodes")
	}
	if err := r.ApplyProof(ctx, p); err != nil {
		t.Fatalf("proof extending the reader with additional nodes: %v", err)
	}
	if r.Length() != 27 || r.TreeHash() != w.TreeHash() {
		t.Fatalf("reader at %d, want 27 with the writer's tree", r.Length())
	}
	if err := r.ApplyProof(ctx, p); !errors.Is(err, core.ErrStaleUpdate) {
		t.Fatalf("the same proof again: %v, want ErrStaleUpdate", err)
	}
}
