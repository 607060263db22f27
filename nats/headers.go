package nats

// Headers of the subject API. Change them only together with the README
// and the tests: clients depend on them.
const (
	// HeaderIndex, HeaderLength and HeaderFork travel with every block a
	// bridge sends (block replies and appended events): the block's index,
	// the core's length after it, and the fork it belongs to. A subscriber
	// to appended events that sees an index it did not expect knows it
	// missed blocks, and can read them with core.<key>.block.
	HeaderIndex  = "Corebridge-Index"
	HeaderLength = "Corebridge-Length"
	HeaderFork   = "Corebridge-Fork"

	// HeaderFormat picks the wire format of values a client sends (on
	// append) or reads (on block), for encodings with more than one: a
	// msgpack core takes and gives "msgpack" (the default) or "json".
	HeaderFormat = "Corebridge-Format"

	// HeaderBatch marks an append request that carries several values,
	// committed atomically under one signature. Its value says how they are
	// framed: BatchJSON or BatchFrames.
	HeaderBatch = "Corebridge-Batch"
)

// Batch framings for HeaderBatch.
const (
	// BatchJSON: the body is a JSON array; each element is one value, in
	// the JSON wire format (json and msgpack cores).
	BatchJSON = "json"
	// BatchFrames: the body is a sequence of frames, each a 4-byte
	// big-endian length followed by that many bytes of value. Works for
	// every encoding, binary included.
	BatchFrames = "frames"
)

// queueGroup is the queue group of the block and info subscriptions, so
// that one of the bridges holding a core answers each request.
const queueGroup = "corebridge"
