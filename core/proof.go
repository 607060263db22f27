package core

import (
	"fmt"

	"github.com/corebridge/corebridge/internal/compact"
)

// ProofRequest asks a core for a proof, as a Hypercore replication request
// does: a block (with how many tree nodes the requester is missing above it)
// and/or an upgrade of the requester's length.
type ProofRequest struct {
	Block   *BlockRequest
	Upgrade *UpgradeRequest
}

// BlockRequest asks for block Index. Nodes is how many levels of tree nodes
// above the leaf the requester lacks; it matters only without an upgrade.
type BlockRequest struct {
	Index uint64
	Nodes uint64
}

// UpgradeRequest asks to grow a requester at length Start by Length blocks.
type UpgradeRequest struct {
	Start  uint64
	Length uint64
}

// Proof is what a core sends to prove blocks and its length: the body of a
// Hypercore "data" message. Nodes are in the order JavaScript Hypercore
// emits and consumes them (spec §5.1).
type Proof struct {
	Fork     uint64
	Block    *BlockProof
	Hash     *HashProof // decoded for completeness; never produced
	Seek     *SeekProof // decoded for completeness; never produced
	Upgrade  *UpgradeProof
	Manifest *Manifest
}

// BlockProof carries a block and the sibling nodes from its leaf upwards.
type BlockProof struct {
	Index uint64
	Value []byte
	Nodes []Node
}

// HashProof is a tree-node proof (a "hash" request's answer).
type HashProof struct {
	Index uint64
	Nodes []Node
}

// SeekProof is a byte-offset proof (a "seek" request's answer).
type SeekProof struct {
	Bytes uint64
	Nodes []Node
}

// UpgradeProof carries the nodes that take a verifier from Start to
// Start+Length, the nodes that extend it to the sender's full length, and
// the sender's signature over that full length.
type UpgradeProof struct {
	Start           uint64
	Length          uint64
	Nodes           []Node
	AdditionalNodes []Node
	Signature       []byte
}

// Data message flag bits.
const (
	dataBlock = 1 << iota
	dataHash
	dataSeek
	dataUpgrade
	dataManifest
)

// EncodeData encodes p as a Hypercore replication "data" message with the
// given request id, byte for byte as JavaScript Hypercore writes it.
func EncodeData(request uint64, p *Proof) []byte {
	var flags uint64
	if p.Block != nil {
		flags |= dataBlock
	}
	if p.Hash != nil {
		flags |= dataHash
	}
	if p.Seek != nil {
		flags |= dataSeek
	}
	if p.Upgrade != nil {
		flags |= dataUpgrade
	}
	if p.Manifest != nil {
		flags |= dataManifest
	}
	b := compact.AppendUint(nil, flags)
	b = compact.AppendUint(b, request)
	b = compact.AppendUint(b, p.Fork)
	if p.Block != nil {
		b = compact.AppendUint(b, p.Block.Index)
		b = compact.AppendBuffer(b, p.Block.Value)
		b = appendNodes(b, p.Block.Nodes)
	}
	if p.Hash != nil {
		b = compact.AppendUint(b, p.Hash.Index)
		b = appendNodes(b, p.Hash.Nodes)
	}
	if p.Seek != nil {
		b = compact.AppendUint(b, p.Seek.Bytes)
		b = appendNodes(b, p.Seek.Nodes)
	}
	if u := p.Upgrade; u != nil {
		b = compact.AppendUint(b, u.Start)
		b = compact.AppendUint(b, u.Length)
		b = appendNodes(b, u.Nodes)
		b = appendNodes(b, u.AdditionalNodes)
		b = compact.AppendBuffer(b, u.Signature)
	}
	if p.Manifest != nil {
		b = append(b, p.Manifest.Encode()...)
	}
	return b
}

func appendNodes(b []byte, nodes []Node) []byte {
	b = compact.AppendUint(b, uint64(len(nodes)))
	for _, n := range nodes {
		b = compact.AppendUint(b, n.Index)
		b = compact.AppendUint(b, n.Size)
		b = append(b, n.Hash[:]...)
	}
	return b
}

// DecodeData parses a "data" message. It never panics on hostile input;
// anything malformed or with trailing bytes is ErrInvalidProof.
func DecodeData(b []byte) (request uint64, p *Proof, err error) {
	d := compact.NewDecoder(b)
	flags := d.Uint()
	request = d.Uint()
	p = &Proof{Fork: d.Uint()}
	if flags&dataBlock != 0 {
		p.Block = &BlockProof{Index: d.Uint(), Value: cloneBytes(d.Buffer()), Nodes: decodeNodes(d)}
		if p.Block.Value == nil && d.Err() == nil {
			p.Block.Value = []byte{}
		}
	}
	if flags&dataHash != 0 {
		p.Hash = &HashProof{Index: d.Uint(), Nodes: decodeNodes(d)}
	}
	if flags&dataSeek != 0 {
		p.Seek = &SeekProof{Bytes: d.Uint(), Nodes: decodeNodes(d)}
	}
	if flags&dataUpgrade != 0 {
		p.Upgrade = &UpgradeProof{Start: d.Uint(), Length: d.Uint()}
		p.Upgrade.Nodes = decodeNodes(d)
		p.Upgrade.AdditionalNodes = decodeNodes(d)
		p.Upgrade.Signature = cloneBytes(d.Buffer())
	}
	if flags&dataManifest != 0 {
		p.Manifest = decodeManifest(d)
	}
	if d.Err() == nil && d.Len() != 0 {
		d.Fail(fmt.Errorf("%d trailing bytes", d.Len()))
	}
	if err := d.Err(); err != nil {
		return 0, nil, fmt.Errorf("%w: data message: %v", ErrInvalidProof, err)
	}
	return request, p, nil
}

// nodeWireMin is the smallest encoded node: two one-byte uints and a hash.
const nodeWireMin = 1 + 1 + 32

func decodeNodes(d *compact.Decoder) []Node {
	n := d.Count(nodeWireMin)
	if n == 0 {
		return nil
	}
	nodes := make([]Node, n)
	for i := range nodes {
		nodes[i] = Node{Index: d.Uint(), Size: d.Uint(), Hash: d.Fixed32()}
	}
	return nodes
}
