package core_test

import (
	"context"
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
