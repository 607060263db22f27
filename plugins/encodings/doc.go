// Package encodings is the value-encoding plugin kind of corebridge: what a
// core's valueEncoding names.
//
// An Encoding translates, a batch at a time, between the values clients
// send and read over NATS (the wire form, in some Format) and the bytes a
// core stores in its blocks. The builtins are:
//
//   - json: clients send and read JSON; blocks hold the bytes JavaScript's
//     JSON.stringify writes, byte for byte as a JavaScript Hypercore with
//     valueEncoding "json" stores them.
//   - binary: blocks hold what clients send, unchanged.
//   - msgpack: blocks hold MessagePack; clients send and read MessagePack
//     or JSON.
//
// # Formats and the Corebridge-Format header
//
// An encoding may accept and return more than one wire format; Info lists
// them, default first. The bridge picks the format of a request from its
// NATS header
//
//	Corebridge-Format: msgpack | json
//
// (absent: the encoding's default). It applies to the values a client
// appends and to the values it reads, for example from a msgpack core as
// JSON. Any format an encoding lists is accepted, so an external encoding
// may add its own.
//
// A format the encoding lists in Info.Verbatim is one it stores and returns
// byte for byte (binary's only format is). The host makes no call to the
// plugin process in such a format: appends and reads of a binary core
// cost no round trip to the encoding. The conformance suite checks the
// declaration.
//
// # Errors
//
// ErrInvalidValue, ErrInvalidBlock, ErrUnsupportedFormat and
// ErrNotRepresentable keep their identity across the plugin boundary: they
// travel as gRPC statuses (InvalidArgument, DataLoss, Unimplemented,
// FailedPrecondition) and errors.Is holds for them on the host, with the
// plugin's message kept. Errors of a value or block name its index in the
// batch.
//
// # Running encodings
//
// Open returns an Encoding that is either a builtin inside the
// host (in_process = true) or a plugin process supervised by package
// plugins: a builtin served by the bridge binary itself, or an external
// executable corebridge-encoding-<name> from the plugin directory. Both
// behave alike, and their errors name the encoding. An external plugin's
// main is one call: Serve(myEncoding{}).
//
// Every encoding should pass the conformance suite in encodingtest, run
// directly, through the gRPC shims (encodingtest.GRPC) and as a process
// (encodingtest.Process).
package encodings
