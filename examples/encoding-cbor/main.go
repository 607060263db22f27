// Command corebridge-encoding-cbor is an external corebridge encoding
// plugin: cores created with "valueEncoding": "cbor" store their values as
// CBOR (RFC 8949), and clients send and read them as CBOR or as JSON.
//
// It is meant to be copied as the start of your own encoding plugin. Build
// it into the bridge's plugin directory:
//
//	go build -o ./plugins/corebridge-encoding-cbor ./examples/encoding-cbor
//
// The bridge starts it when a core needs it. Run by hand, it only says that
// it is a plugin.
package main

import "github.com/corebridge/corebridge/plugins/encodings"

func main() {
	// Nothing may be printed on stdout before Serve: the bridge reads the
	// plugin handshake there.
	encodings.Serve(newCBOR())
}
