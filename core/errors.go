package core

import "errors"

// Errors returned by this package. Callers test them with errors.Is; the
// bridge maps them to NATS service error codes.
var (
	// ErrInvalidKey: a key that is neither 64 hex nor 52 z-base-32 characters.
	ErrInvalidKey = errors.New("invalid core key")
	// ErrInvalidManifest: manifest bytes that do not decode.
	ErrInvalidManifest = errors.New("invalid manifest")
	// ErrUnsupportedManifest: a valid manifest this package cannot sign or
	// verify for (several signers, other signature types).
	ErrUnsupportedManifest = errors.New("unsupported manifest")
	// ErrManifestMismatch: a manifest whose hash is not the core key.
	ErrManifestMismatch = errors.New("manifest does not match the core key")
	// ErrInvalidSignature: a signature that does not verify.
	ErrInvalidSignature = errors.New("invalid signature")
	// ErrInvalidProof: a proof whose nodes are malformed, out of order or do
	// not connect to what the verifier trusts.
	ErrInvalidProof = errors.New("invalid proof")
	// ErrOutOfRange: a block index at or past the core's length.
	ErrOutOfRange = errors.New("block index out of range")
	// ErrBlockNotAvailable: a block below the length that is not stored
	// here (a reader that received only part of a core).
	ErrBlockNotAvailable = errors.New("block not available")
	// ErrNotWritable: an append or truncate on a core without its secret key.
	ErrNotWritable = errors.New("core is not writable")
	// ErrBlockTooLarge: a block over MaxBlockSize.
	ErrBlockTooLarge = errors.New("block too large")
	// ErrClosed: a call on a closed session.
	ErrClosed = errors.New("core session closed")
	// ErrStaleUpdate: an update for a length and fork this core has already
	// applied or passed. Replication treats it as a duplicate, not a forgery.
	ErrStaleUpdate = errors.New("stale update")
	// ErrCorrupt: storage holds data that does not match its header.
	ErrCorrupt = errors.New("core storage is corrupt")
)
