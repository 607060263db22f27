package core

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/corebridge/corebridge/internal/compact"
	"golang.org/x/crypto/blake2b"
)

// Manifest says who may sign a core. Outside compat mode the core key is the
// manifest's hash (spec §2.2).
type Manifest struct {
	Version    uint64
	HashType   uint64 // 0 = BLAKE2b, the only value
	AllowPatch bool
	Quorum     uint64
	Signers    []Signer
	Prologue   *Prologue
	Linked     [][32]byte // version 2 and later
	UserData   []byte     // version 2 and later; nil when absent
}

// Signer is one manifest signer.
type Signer struct {
	SignatureType uint64 // 0 = ed25519, the only value
	Namespace     [32]byte
	PublicKey     [32]byte
}

// Prologue pins the start of a core to a known tree hash and length.
type Prologue struct {
	Hash   [32]byte
	Length uint64
}

// DefaultManifest returns the single-signer manifest corestore 7 and
// hypercore 11 create for a key pair: version 1 (or 0 when asked), the
// default signer namespace, quorum 1.
func DefaultManifest(version uint64, publicKey []byte) *Manifest {
	m := &Manifest{Version: version, Quorum: 1, Signers: []Signer{{Namespace: DefaultSignerNamespace}}}
	copy(m.Signers[0].PublicKey[:], publicKey)
	return m
}

// Hash returns BLAKE2b-256(MANIFEST || encode(m)): the core key.
func (m *Manifest) Hash() Key {
	h, _ := blake2b.New256(nil)
	h.Write(ManifestNamespace[:])
	h.Write(m.Encode())
	var k Key
	h.Sum(k[:0])
	return k
}

// Manifest flag bits (version 1 and later).
const (
	manifestAllowPatch = 1 << iota
	manifestPrologue
	manifestLinked
	manifestUserData
)

// Encode returns the compact encoding of m.
func (m *Manifest) Encode() []byte {
	if m.Version == 0 {
		return m.encodeV0()
	}
	b := compact.AppendUint(nil, m.Version)
	var flags uint64
	if m.AllowPatch {
		flags |= manifestAllowPatch
	}
	if m.Prologue != nil {
		flags |= manifestPrologue
	}
	if m.Linked != nil {
		flags |= manifestLinked
	}
	if m.UserData != nil {
		flags |= manifestUserData
	}
	b = compact.AppendUint(b, flags)
	b = compact.AppendUint(b, m.HashType)
	b = compact.AppendUint(b, m.Quorum)
	b = appendSigners(b, m.Signers)
	if m.Prologue != nil {
		b = append(b, m.Prologue.Hash[:]...)
		b = compact.AppendUint(b, m.Prologue.Length)
	}
	if m.Linked != nil {
		b = compact.AppendUint(b, uint64(len(m.Linked)))
		for _, l := range m.Linked {
			b = append(b, l[:]...)
		}
	}
	if m.UserData != nil {
		b = compact.AppendBuffer(b, m.UserData)
	}
	return b
}

func appendSigners(b []byte, signers []Signer) []byte {
	b = compact.AppendUint(b, uint64(len(signers)))
	for _, s := range signers {
		b = appendSigner(b, s)
	}
	return b
}

func appendSigner(b []byte, s Signer) []byte {
	b = compact.AppendUint(b, s.SignatureType)
	b = append(b, s.Namespace[:]...)
	return append(b, s.PublicKey[:]...)
}

// encodeV0 writes the version 0 layout: a static core (type 0), one signer
// (type 1), or a quorum of signers (type 2).
func (m *Manifest) encodeV0() []byte {
	b := compact.AppendUint(nil, 0)
	b = compact.AppendUint(b, m.HashType)
	switch {
	case len(m.Signers) == 0 && m.Prologue != nil:
		b = compact.AppendUint(b, 0)
		return append(b, m.Prologue.Hash[:]...)
	case len(m.Signers) == 1 && m.Quorum == 1 && !m.AllowPatch:
		b = compact.AppendUint(b, 1)
		return appendSigner(b, m.Signers[0])
	default:
		b = compact.AppendUint(b, 2)
		var flags uint64
		if m.AllowPatch {
			flags = 1
		}
		b = compact.AppendUint(b, flags)
		b = compact.AppendUint(b, m.Quorum)
		return appendSigners(b, m.Signers)
	}
}

// maxSigners bounds the signer array of a decoded manifest.
const maxSigners = 64

// DecodeManifest parses an encoded manifest. It accepts versions 0 to 3, as
// hypercore 11 does, and rejects trailing bytes.
func DecodeManifest(b []byte) (*Manifest, error) {
	d := compact.NewDecoder(b)
	m := decodeManifest(d)
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidManifest, err)
	}
	if d.Len() != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrInvalidManifest, d.Len())
	}
	return m, nil
}

// decodeManifest reads one manifest from d; errors are left in d.
func decodeManifest(d *compact.Decoder) *Manifest {
	m := &Manifest{Version: d.Uint()}
	if m.Version > 3 {
		d.Fail(fmt.Errorf("manifest version %d", m.Version))
		return nil
	}
	if m.Version == 0 {
		decodeV0(d, m)
	} else {
		flags := d.Uint()
		m.AllowPatch = flags&manifestAllowPatch != 0
		m.HashType = d.Uint()
		m.Quorum = d.Uint()
		m.Signers = decodeSigners(d)
		if flags&manifestPrologue != 0 {
			m.Prologue = &Prologue{Hash: d.Fixed32(), Length: d.Uint()}
		}
		if flags&manifestLinked != 0 {
			n := d.Count(32)
			m.Linked = make([][32]byte, n)
			for i := range m.Linked {
				m.Linked[i] = d.Fixed32()
			}
		}
		if flags&manifestUserData != 0 {
			m.UserData = append([]byte{}, d.Buffer()...)
		}
	}
	if m.HashType != 0 {
		d.Fail(fmt.Errorf("unknown hash type %d", m.HashType))
	}
	return m
}

func decodeV0(d *compact.Decoder, m *Manifest) {
	m.HashType = d.Uint()
	switch t := d.Uint(); t {
	case 0:
		m.Prologue = &Prologue{Hash: d.Fixed32()}
	case 1:
		m.Quorum = 1
		m.Signers = []Signer{decodeSigner(d)}
	case 2:
		m.AllowPatch = d.Uint()&1 != 0
		m.Quorum = d.Uint()
		m.Signers = decodeSigners(d)
	default:
		d.Fail(fmt.Errorf("unknown version 0 manifest type %d", t))
	}
}

func decodeSigners(d *compact.Decoder) []Signer {
	n := d.Count(1 + 64)
	if n > maxSigners {
		d.Fail(fmt.Errorf("%d signers, at most %d supported", n, maxSigners))
		return nil
	}
	s := make([]Signer, n)
	for i := range s {
		s[i] = decodeSigner(d)
	}
	return s
}

func decodeSigner(d *compact.Decoder) Signer {
	return Signer{SignatureType: d.Uint(), Namespace: d.Fixed32(), PublicKey: d.Fixed32()}
}

// scheme is how a core's signatures are made and checked: which prefix the
// signable carries and how the 64-byte ed25519 signature is stored.
type scheme struct {
	publicKey ed25519.PublicKey
	prefix    []byte // nil (compat), signer namespace (v0) or core key (v1+)
	multisig  bool   // stored signature is the multisig envelope (v1+)
}

// compatScheme is the scheme of a core whose key is its public key.
func compatScheme(key Key) scheme {
	return scheme{publicKey: ed25519.PublicKey(append([]byte{}, key[:]...))}
}

// manifestScheme is the scheme of a core with manifest m. Only a single
// ed25519 signer with quorum 1 is supported.
func manifestScheme(m *Manifest, key Key) (scheme, error) {
	if len(m.Signers) != 1 || m.Quorum > 1 {
		return scheme{}, fmt.Errorf("%w: %d signers with quorum %d (only one signer is supported)", ErrUnsupportedManifest, len(m.Signers), m.Quorum)
	}
	s := m.Signers[0]
	if s.SignatureType != 0 {
		return scheme{}, fmt.Errorf("%w: signature type %d", ErrUnsupportedManifest, s.SignatureType)
	}
	sc := scheme{publicKey: ed25519.PublicKey(append([]byte{}, s.PublicKey[:]...))}
	if m.Version == 0 {
		sc.prefix = append([]byte{}, s.Namespace[:]...)
	} else {
		sc.prefix = append([]byte{}, key[:]...)
		sc.multisig = true
	}
	return sc, nil
}

// signable returns the bytes signed for (treeHash, length, fork).
func (s scheme) signable(treeHash [32]byte, length, fork uint64) []byte {
	return signable(s.prefix, treeHash, length, fork)
}

// sign returns the stored signature for (treeHash, length, fork).
func (s scheme) sign(sk ed25519.PrivateKey, treeHash [32]byte, length, fork uint64) []byte {
	sig := ed25519.Sign(sk, s.signable(treeHash, length, fork))
	if s.multisig {
		return encodeMultisig(sig)
	}
	return sig
}

// verify reports whether sig is a valid stored signature for the state.
func (s scheme) verify(sig []byte, treeHash [32]byte, length, fork uint64) error {
	raw := sig
	if s.multisig {
		var err error
		if raw, err = decodeMultisig(sig); err != nil {
			return err
		}
	}
	if len(raw) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature is %d bytes", ErrInvalidSignature, len(raw))
	}
	if !ed25519.Verify(s.publicKey, s.signable(treeHash, length, fork), raw) {
		return fmt.Errorf("%w: does not verify for length %d, fork %d", ErrInvalidSignature, length, fork)
	}
	return nil
}

// encodeMultisig wraps one ed25519 signature in the version 1 multisig
// envelope: 1 proof (signer 0, the signature, patch 0), 0 patch nodes.
func encodeMultisig(sig []byte) []byte {
	b := make([]byte, 0, 68)
	b = append(b, 1, 0)
	b = append(b, sig...)
	return append(b, 0, 0)
}

var errMultisig = errors.New("only single-signer, unpatched multisig signatures are supported")

// decodeMultisig returns the ed25519 signature inside a single-signer
// multisig envelope.
func decodeMultisig(b []byte) ([]byte, error) {
	d := compact.NewDecoder(b)
	if n := d.Uint(); n != 1 {
		d.Fail(errMultisig)
	}
	if signer := d.Uint(); signer != 0 {
		d.Fail(errMultisig)
	}
	sig := d.Fixed(ed25519.SignatureSize)
	if patch := d.Uint(); patch != 0 {
		d.Fail(errMultisig)
	}
	if nodes := d.Uint(); nodes != 0 {
		d.Fail(errMultisig)
	}
	if d.Err() == nil && d.Len() != 0 {
		d.Fail(fmt.Errorf("%d trailing bytes", d.Len()))
	}
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("%w: multisig envelope: %v", ErrInvalidSignature, err)
	}
	return sig, nil
}
