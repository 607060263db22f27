package nats_test

import (
	"errors"
	"fmt"

	"github.com/corebridge/corebridge/nats"
)

func ExampleParseKey() {
	// A core key as hex, as a z-base-32 id, or inside a pear:// link.
	for _, in := range []string{
		"8688e26eecddc2d4b0a5452a4275333de9bab59426f3c30477d09304e07f4131",
		"o4rqr5zc5zbpjcffewirr7ju8zw5ipcwr53hgbdz4njojad9erao",
		"pear://o4rqr5zc5zbpjcffewirr7ju8zw5ipcwr53hgbdz4njojad9erao/index.html",
	} {
		k, err := nats.ParseKey(in)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(nats.KeyHex(k)[:16], nats.KeyZ32(k)[:16])
	}
	_, err := nats.ParseKey("not-a-key")
	fmt.Println(err)
	// Output:
	// 8688e26eecddc2d4 o4rqr5zc5zbpjcff
	// 8688e26eecddc2d4 o4rqr5zc5zbpjcff
	// 8688e26eecddc2d4 o4rqr5zc5zbpjcff
	// key "not-a-key" is neither 64 hex characters nor 52 z-base-32 characters
}

func ExampleSubjects() {
	s, err := nats.NewSubjects("acme")
	if err != nil {
		panic(err)
	}
	get, _ := s.StoreGet("default")
	fmt.Println(get)
	fmt.Println(s.Pattern(nats.SubjectCoreAppended))
	fmt.Println(s.ReplicationFilter())

	// A client-supplied token cannot widen a subject.
	_, err = s.StoreGet("*")
	fmt.Println(err)

	// A received subject taken apart.
	key, _ := nats.ParseKey("o4rqr5zc5zbpjcffewirr7ju8zw5ipcwr53hgbdz4njojad9erao")
	got, _ := s.Parse(s.CoreBlock(key))
	fmt.Println(got.Template, got.Key == key)
	// Output:
	// acme.store.default.get
	// acme.core.*.appended
	// acme.hc.repl.>
	// subject "store.%s.get": subject token "*" contains '*'
	// core.%s.block true
}

func ExampleClassify() {
	errNoCore := errors.New("no such core") // a service-layer sentinel
	codes := append(nats.DefaultErrorCodes(), nats.ErrorCode{Err: errNoCore, Code: nats.CodeNotFound})

	for _, err := range []error{
		fmt.Errorf("core 8688e26e: %w", errNoCore),
		nats.TooLarge("value is 2097152 bytes; the limit is 1048576"),
		errors.New("disk full"),
	} {
		code, msg := nats.Classify(err, codes)
		fmt.Println(code, msg)
	}
	// Output:
	// 404 core 8688e26e: no such core
	// 413 value is 2097152 bytes; the limit is 1048576
	// 500 disk full
}
