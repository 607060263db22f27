package core

import (
	"crypto/ed25519"
	"encoding/binary"

	"golang.org/x/crypto/blake2b"
)

// Namespace returns count 32-byte constants derived from name the way
// hypercore-crypto's namespace() does: ns = H(name), NS[i] = H(ns || byte(i)).
func Namespace(name string, count int) [][32]byte {
	ns := blake2b.Sum256([]byte(name))
	out := make([][32]byte, count)
	var buf [33]byte
	copy(buf[:], ns[:])
	for i := range out {
		buf[32] = byte(i)
		out[i] = blake2b.Sum256(buf[:])
	}
	return out
}

// Hypercore's namespace constants (spec §0.1): namespace("hypercore", 6).
var (
	hypercoreNS = Namespace("hypercore", 6)

	// TreeNamespace prefixes every signable.
	TreeNamespace = hypercoreNS[0]
	// ReplicateInitiator and ReplicateResponder key replication capabilities.
	ReplicateInitiator = hypercoreNS[1]
	ReplicateResponder = hypercoreNS[2]
	// ManifestNamespace prefixes the manifest hash.
	ManifestNamespace = hypercoreNS[3]
	// DefaultSignerNamespace is a manifest signer's namespace unless set.
	DefaultSignerNamespace = hypercoreNS[4]
	// BlockEncryptionNamespace is reserved for block encryption (unused).
	BlockEncryptionNamespace = hypercoreNS[5]
)

// KeyPair is an ed25519 key pair. SecretKey is nil for a reader.
type KeyPair struct {
	PublicKey ed25519.PublicKey
	SecretKey ed25519.PrivateKey // seed || public key, libsodium's layout
}

// KeyPairFromSeed returns the key pair of a 32-byte seed, as libsodium's
// crypto_sign_seed_keypair does.
func KeyPairFromSeed(seed [32]byte) KeyPair {
	sk := ed25519.NewKeyFromSeed(seed[:])
	return KeyPair{PublicKey: sk.Public().(ed25519.PublicKey), SecretKey: sk}
}

// DiscoveryKey returns BLAKE2b-256 keyed with the core key over the ASCII
// bytes "hypercore". Peers name a core by it without learning the key.
func DiscoveryKey(key [32]byte) [32]byte {
	h, _ := blake2b.New256(key[:])
	h.Write([]byte("hypercore"))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Capability returns the replication capability a peer proves it holds the
// core key with: BLAKE2b-256 keyed with the 64-byte handshake hash over
// (REPLICATE_INITIATOR or REPLICATE_RESPONDER) || key.
func Capability(handshakeHash []byte, initiator bool, key [32]byte) ([32]byte, error) {
	var out [32]byte
	h, err := blake2b.New256(handshakeHash)
	if err != nil {
		return out, err
	}
	if initiator {
		h.Write(ReplicateInitiator[:])
	} else {
		h.Write(ReplicateResponder[:])
	}
	h.Write(key[:])
	h.Sum(out[:0])
	return out, nil
}

// signable returns the message a signature covers (spec §3.5):
//
//	TREE || [prefix] || treeHash || u64le(length) || u64le(fork)
//
// prefix is the manifest hash (the core key) for manifest v1 and later, the
// signer namespace for manifest v0, and absent in compat mode.
func signable(prefix []byte, treeHash [32]byte, length, fork uint64) []byte {
	b := make([]byte, 0, 32+len(prefix)+32+16)
	b = append(b, TreeNamespace[:]...)
	b = append(b, prefix...)
	b = append(b, treeHash[:]...)
	b = binary.LittleEndian.AppendUint64(b, length)
	b = binary.LittleEndian.AppendUint64(b, fork)
	return b
}
