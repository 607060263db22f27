// Package vectors reads the Hypercore/Corestore test vector files made by
// the real JavaScript packages (testdata/public-v6.json, public-v7.json and
// any set the generator makes). Byte strings stay hex, as in the files.
package vectors

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// File is one vector set.
type File struct {
	Path      string          `json:"-"`
	Format    string          `json:"format"`
	Seed      string          `json:"seed"`
	Impl      string          `json:"impl"` // "v6" or "v7"
	Constants Constants       `json:"constants"`
	Corestore Corestore       `json:"corestore"`
	Hypercore []Hypercore     `json:"hypercore"`
	Repl      Replication     `json:"replication"`
	Raw       json.RawMessage `json:"-"`
}

// Constants are the namespace constants. Their JSON names hold quotes,
// which struct tags cannot name, so they are decoded by hand.
type Constants struct {
	Corestore        string
	CorestoreNS      string
	DefaultNamespace string
	Hypercore        string
	HypercoreNS      map[string]string
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *Constants) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	fields := []struct {
		name string
		dst  any
	}{
		{`blake2b("corestore")`, &c.Corestore},
		{`corestore.NS (=namespace("corestore",1)[0])`, &c.CorestoreNS},
		{`corestore.DEFAULT_NAMESPACE`, &c.DefaultNamespace},
		{`blake2b("hypercore")`, &c.Hypercore},
		{`hypercore.namespace("hypercore",6)`, &c.HypercoreNS},
	}
	for _, f := range fields {
		v, ok := raw[f.name]
		if !ok {
			return fmt.Errorf("constants: %s missing", f.name)
		}
		if err := json.Unmarshal(v, f.dst); err != nil {
			return fmt.Errorf("constants: %s: %w", f.name, err)
		}
	}
	return nil
}

// Corestore holds the key-derivation vectors.
type Corestore struct {
	PrimaryKey      string        `json:"primaryKey"`
	OtherPrimaryKey string        `json:"otherPrimaryKey"`
	Namespaces      []NamespaceV  `json:"namespaces"`
	Cases           []Case        `json:"cases"`
	KeyPairOnly     []KeyPairOnly `json:"keyPairOnly"`
	Sessions        []Session     `json:"sessions"`
}

// NamespaceV is a namespace path and its bytes.
type NamespaceV struct {
	Path      []string `json:"path"`
	Namespace string   `json:"namespace"`
}

// Case is a named core's derivation.
type Case struct {
	NamespacePath   []string  `json:"namespacePath"`
	Namespace       string    `json:"namespace"`
	Name            string    `json:"name"`
	NameUTF8Hex     string    `json:"nameUtf8Hex"`
	Seed            string    `json:"seed"`
	PublicKey       string    `json:"publicKey"`
	SecretKey       string    `json:"secretKey"`
	Key             string    `json:"key"`
	DiscoveryKey    string    `json:"discoveryKey"`
	ID              string    `json:"id"`
	Compat          bool      `json:"compat"`
	Manifest        *Manifest `json:"manifest"`
	ManifestEncoded string    `json:"manifestEncoded"`
}

// KeyPairOnly is a derivation that store.get refuses (the empty name).
type KeyPairOnly struct {
	NamespacePath           []string `json:"namespacePath"`
	Namespace               string   `json:"namespace"`
	Name                    string   `json:"name"`
	Seed                    string   `json:"seed"`
	PublicKey               string   `json:"publicKey"`
	SecretKey               string   `json:"secretKey"`
	DiscoveryKeyOfPublicKey string   `json:"discoveryKeyOfPublicKey"`
}

// Session is a session expression and what it derives.
type Session struct {
	Description         string `json:"description"`
	Name                string `json:"name"`
	EffectiveNamespace  string `json:"effectiveNamespace"`
	EffectivePrimaryKey string `json:"effectivePrimaryKey"`
	PublicKey           string `json:"publicKey"`
}

// Manifest is a manifest as JSON.
type Manifest struct {
	Version    uint64   `json:"version"`
	Hash       string   `json:"hash"`
	AllowPatch bool     `json:"allowPatch"`
	Quorum     uint64   `json:"quorum"`
	Signers    []Signer `json:"signers"`
	Prologue   *struct {
		Hash   string `json:"hash"`
		Length uint64 `json:"length"`
	} `json:"prologue"`
}

// Signer is a manifest signer.
type Signer struct {
	Signature string `json:"signature"`
	Namespace string `json:"namespace"`
	PublicKey string `json:"publicKey"`
}

// Hypercore is one core replayed step by step.
type Hypercore struct {
	Description     string    `json:"description"`
	Via             string    `json:"via"`
	Compat          bool      `json:"compat"`
	KeyPair         KeyPair   `json:"keyPair"`
	Key             string    `json:"key"`
	DiscoveryKey    string    `json:"discoveryKey"`
	ID              string    `json:"id"`
	Manifest        *Manifest `json:"manifest"`
	ManifestEncoded string    `json:"manifestEncoded"`
	ManifestHash    string    `json:"manifestHash"`
	Steps           []Step    `json:"steps"`
	Blocks          []Block   `json:"blocks"`
	TreeNodes       []Node    `json:"treeNodes"`
	Proofs          []Proof   `json:"proofs"`
}

// KeyPair is an ed25519 key pair.
type KeyPair struct {
	Seed      string `json:"seed"`
	PublicKey string `json:"publicKey"`
	SecretKey string `json:"secretKey"`
}

// Step is an append or a truncate and the state after it.
type Step struct {
	Op        string  `json:"op"`
	NewLength uint64  `json:"newLength"`
	Blocks    []Block `json:"blocks"`
	Result    *struct {
		Length     uint64 `json:"length"`
		ByteLength uint64 `json:"byteLength"`
	} `json:"result"`
	After State `json:"after"`
}

// State is a core's state after a step.
type State struct {
	Length           uint64 `json:"length"`
	ByteLength       uint64 `json:"byteLength"`
	Fork             uint64 `json:"fork"`
	Roots            []Node `json:"roots"`
	TreeHash         string `json:"treeHash"`
	Signable         string `json:"signable"`
	Signature        string `json:"signature"`
	SignatureEd25519 string `json:"signatureEd25519"`
}

// Block is a stored block.
type Block struct {
	Index         uint64          `json:"index"`
	ValueEncoding string          `json:"valueEncoding"`
	Value         json.RawMessage `json:"value"`
	Encoded       string          `json:"encoded"`
	LeafHash      string          `json:"leafHash"`
}

// Node is a tree node.
type Node struct {
	Index uint64 `json:"index"`
	Size  uint64 `json:"size"`
	Hash  string `json:"hash"`
}

// Proof is a proof request, the proof JS produced and its wire form.
type Proof struct {
	Description string `json:"description"`
	Request     struct {
		Block *struct {
			Index uint64 `json:"index"`
			Nodes uint64 `json:"nodes"`
		} `json:"block"`
		Upgrade *struct {
			Start  uint64 `json:"start"`
			Length uint64 `json:"length"`
		} `json:"upgrade"`
	} `json:"request"`
	Proof struct {
		Fork  uint64 `json:"fork"`
		Block *struct {
			Index uint64 `json:"index"`
			Value string `json:"value"`
			Nodes []Node `json:"nodes"`
		} `json:"block"`
		Upgrade *struct {
			Start           uint64 `json:"start"`
			Length          uint64 `json:"length"`
			Nodes           []Node `json:"nodes"`
			AdditionalNodes []Node `json:"additionalNodes"`
			Signature       string `json:"signature"`
		} `json:"upgrade"`
	} `json:"proof"`
	WireData string `json:"wireData"`
}

// Replication holds capability vectors.
type Replication struct {
	HandshakeHash string `json:"handshakeHash"`
	Capabilities  []struct {
		CoreKey             string `json:"coreKey"`
		CapabilityInitiator string `json:"capabilityInitiator"`
		CapabilityResponder string `json:"capabilityResponder"`
		// HandshakeMessageInitiator is the channel-open payload.
		HandshakeMessageInitiator string `json:"handshakeMessageInitiator"`
	} `json:"capabilities"`
}

// Parse decodes a vector file's bytes.
func Parse(path string, data []byte) (*File, error) {
	f := &File{Path: path, Raw: data}
	if err := json.Unmarshal(data, f); err != nil {
		return nil, fmt.Errorf("vectors %s: %w", path, err)
	}
	if f.Impl != "v6" && f.Impl != "v7" {
		return nil, fmt.Errorf("vectors %s: impl %q, want v6 or v7", path, f.Impl)
	}
	return f, nil
}

// Paths returns the vector files in testdataDir (the public sets and the
// ones made with other seeds) and every file named in $HYPERCORE_VECTORS
// (colon-separated).
func Paths(testdataDir string) []string {
	paths, _ := filepath.Glob(filepath.Join(testdataDir, "*-v[67].json"))
	for _, p := range strings.Split(os.Getenv("HYPERCORE_VECTORS"), ":") {
		if p = strings.TrimSpace(p); p != "" {
			paths = append(paths, p)
		}
	}
	return paths
}

// Hex decodes a hex string; bad hex yields nil and the error.
func Hex(s string) ([]byte, error) { return hex.DecodeString(s) }

// Hex32 decodes 32 bytes of hex.
func Hex32(s string) ([32]byte, error) {
	var out [32]byte
	b, err := hex.DecodeString(s)
	if err != nil {
		return out, err
	}
	if len(b) != 32 {
		return out, fmt.Errorf("%d bytes, want 32", len(b))
	}
	copy(out[:], b)
	return out, nil
}
