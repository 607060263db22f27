package corestore_test

import (
	"context"
	"fmt"

	"github.com/corebridge/corebridge/corestore"
)

// The same primary key and name give the same core key as JavaScript
// Corestore: corestore 7 by default, corestore 6 with Compat.
func Example() {
	ctx := context.Background()
	primaryKey := make([]byte, 32)
	for i := range primaryKey {
		primaryKey[i] = byte(i)
	}
	for _, compat := range []bool{false, true} {
		store, err := corestore.Open(ctx, corestore.NewMemoryBackend(), corestore.Options{PrimaryKey: primaryKey, Compat: compat})
		if err != nil {
			panic(err)
		}
		c, err := store.Get(ctx, corestore.GetOptions{Name: "main"})
		if err != nil {
			panic(err)
		}
		if _, err := c.Append(ctx, [][]byte{[]byte("a"), []byte("b"), []byte("c")}); err != nil {
			panic(err)
		}
		fmt.Printf("compat=%v key %s\n", compat, c.Key())
		fmt.Printf("signature %x\n", c.Signature())
		store.Close()
	}
	// Output:
	// compat=false key 21f148ed1734aba06910c10112b07828bf4f0fde44ae2145dc4e82a84941e820
	// signature 0100e9d45242f5da8487503a6384ff297d077a24794da2bf153d47c82bfb2d9f57bf19540b1cb9f48772284f026f4bf4ed9f30c07d13137c88b3a91ee476d7ab2a040000
	// compat=true key 9824c584da21b95cfe34317ec59d68a53f874078a207e45c3306d158bb51d331
	// signature 95fe0fd5f2a79caa9ae877f75523592c8e96963cae8ea3d69c63a79994062ce2a6661c2b9d906d606de21a859c5a6f48719ca598a6bb1b6da10add53642cfc01
}
