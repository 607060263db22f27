package nats

import (
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/internal/compact"
)

// A replication message carries a run of a core's blocks and, when the run
// ends at a signed state, the writer's signature over it:
//
//	byte    version (1)
//	uint    flags: 1 signed, 2 manifest
//	uint    fork
//	uint    start (index of the first value)
//	uint    n, then n × buffer (the stored block bytes)
//	buffer  signature      (if signed: over fork and length start+n)
//	buffer  manifest       (if manifest: so a reader can verify outside compat mode)
//	buffer  encoding       (if encoding: the core's valueEncoding, so readers serve it alike)
//
// uint and buffer are compact-encoding, as in Hypercore. A message with no
// values and a signature is a truncate (or a fork bump) to length start.
// An unsigned message is a chunk of a run too large for one message; the
// signed message that ends the run covers it. No tree nodes travel: a
// reader holds the tree up to start and recomputes every node from the
// values, so the signature check covers them all.
//
// On the wire the message is sealed with XChaCha20-Poly1305 under a key
// derived from the core key, with the discovery key as associated data:
//
//	nonce (24 bytes) || ciphertext
//
// A NATS operator or a subscriber who knows only the discovery key can read
// nothing, and a message moved to another core's subject fails to open.
type replMessage struct {
	Fork      uint64
	Start     uint64
	Values    [][]byte
	Signature []byte // nil: a chunk, not yet signed
	Manifest  []byte // encoded manifest, nil in compat mode
	Encoding  string // the core's valueEncoding; "" when not said
}

const replVersion = 1

const (
	replSigned   = 1
	replManifest = 2
	replEncoding = 4
)

// errReplMessage marks a replication message that does not open or decode.
var errReplMessage = errors.New("malformed replication message")

// end is the length after the message's values.
func (m *replMessage) end() uint64 { return m.Start + uint64(len(m.Values)) }

func (m *replMessage) encode() []byte {
	size := 16 + len(m.Signature) + len(m.Manifest)
	for _, v := range m.Values {
		size += len(v) + 5
	}
	b := make([]byte, 0, size)
	b = append(b, replVersion)
	var flags uint64
	if m.Signature != nil {
		flags |= replSigned
	}
	if m.Manifest != nil {
		flags |= replManifest
	}
	if m.Encoding != "" {
		flags |= replEncoding
	}
	b = compact.AppendUint(b, flags)
	b = compact.AppendUint(b, m.Fork)
	b = compact.AppendUint(b, m.Start)
	b = compact.AppendUint(b, uint64(len(m.Values)))
	for _, v := range m.Values {
		b = compact.AppendBuffer(b, v)
	}
	if m.Signature != nil {
		b = compact.AppendBuffer(b, m.Signature)
	}
	if m.Manifest != nil {
		b = compact.AppendBuffer(b, m.Manifest)
	}
	if m.Encoding != "" {
		b = compact.AppendBuffer(b, []byte(m.Encoding))
	}
	return b
}

func decodeReplMessage(b []byte) (*replMessage, error) {
	if len(b) == 0 || b[0] != replVersion {
		return nil, fmt.Errorf("%w: unknown version", errReplMessage)
	}
	d := compact.NewDecoder(b[1:])
	flags := d.Uint()
	m := &replMessage{Fork: d.Uint(), Start: d.Uint()}
	n := d.Count(1)
	if n > 0 {
		m.Values = make([][]byte, n)
		for i := range m.Values {
			m.Values[i] = d.Buffer()
		}
	}
	if flags&replSigned != 0 {
		m.Signature = d.Buffer()
	}
	if flags&replManifest != 0 {
		m.Manifest = d.Buffer()
	}
	if flags&replEncoding != 0 {
		m.Encoding = string(d.Buffer())
	}
	if d.Err() == nil && d.Len() != 0 {
		d.Fail(fmt.Errorf("%d trailing bytes", d.Len()))
	}
	if flags&^(replSigned|replManifest|replEncoding) != 0 {
		d.Fail(fmt.Errorf("unknown flags %#x", flags))
	}
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", errReplMessage, err)
	}
	return m, nil
}

// replKeyContext is the context string of the replication payload key.
const replKeyContext = "corebridge replication payload key v1"

// replCipher seals and opens one core's replication messages.
type replCipher struct {
	aead interface {
		Seal(dst, nonce, plaintext, ad []byte) []byte
		Open(dst, nonce, ciphertext, ad []byte) ([]byte, error)
	}
	ad []byte // the discovery key
}

// newReplCipher derives the payload key: BLAKE2b-256 keyed with the core
// key over a fixed context string.
func newReplCipher(key core.Key) *replCipher {
	h, _ := blake2b.New256(key[:])
	h.Write([]byte(replKeyContext))
	aead, err := chacha20poly1305.NewX(h.Sum(nil))
	if err != nil {
		panic(err) // the key is always 32 bytes
	}
	dk := core.DiscoveryKey(key)
	return &replCipher{aead: aead, ad: dk[:]}
}

func (c *replCipher) seal(plain []byte) []byte {
	out := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(plain)+chacha20poly1305.Overhead)
	if _, err := rand.Read(out); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return c.aead.Seal(out, out, plain, c.ad)
}

func (c *replCipher) open(sealed []byte) (*replMessage, error) {
	if len(sealed) < chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead {
		return nil, fmt.Errorf("%w: %d bytes", errReplMessage, len(sealed))
	}
	nonce, ct := sealed[:chacha20poly1305.NonceSizeX], sealed[chacha20poly1305.NonceSizeX:]
	plain, err := c.aead.Open(nil, nonce, ct, c.ad)
	if err != nil {
		return nil, fmt.Errorf("%w: does not open with this core's key", errReplMessage)
	}
	return decodeReplMessage(plain)
}
