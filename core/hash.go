package core

import (
	"encoding/binary"

	"golang.org/x/crypto/blake2b"
)

// Node is one node of a core's Merkle tree: its flat index, the number of
// block bytes under it and its BLAKE2b-256 hash.
type Node struct {
	Index uint64
	Size  uint64
	Hash  [32]byte
}

// Hash type prefixes (spec §3.2, §3.3).
const (
	leafType   = 0x00
	parentType = 0x01
	rootType   = 0x02
)

// LeafNode returns the node of block index (flat index 2*index) holding value:
// hash = BLAKE2b-256(0x00 || u64le(len(value)) || value).
func LeafNode(index uint64, value []byte) Node {
	var hdr [9]byte
	hdr[0] = leafType
	binary.LittleEndian.PutUint64(hdr[1:], uint64(len(value)))
	h, _ := blake2b.New256(nil)
	h.Write(hdr[:])
	h.Write(value)
	n := Node{Index: 2 * index, Size: uint64(len(value))}
	h.Sum(n.Hash[:0])
	return n
}

// ParentNode returns the parent of a and b, which must be siblings (in either
// order): hash = BLAKE2b-256(0x01 || u64le(left.size+right.size) || left.hash
// || right.hash), where left is the child with the lower flat index.
func ParentNode(a, b Node) Node {
	if a.Index > b.Index {
		a, b = b, a
	}
	var buf [1 + 8 + 32 + 32]byte
	buf[0] = parentType
	size := a.Size + b.Size
	binary.LittleEndian.PutUint64(buf[1:], size)
	copy(buf[9:], a.Hash[:])
	copy(buf[41:], b.Hash[:])
	return Node{Index: Parent(a.Index), Size: size, Hash: blake2b.Sum256(buf[:])}
}

// TreeHash returns the hash that a signature covers: BLAKE2b-256(0x02 ||
// for each root: hash || u64le(index) || u64le(size)). roots must be the
// full roots of the tree in index order; the empty tree hashes 0x02 alone.
func TreeHash(roots []Node) [32]byte {
	h, _ := blake2b.New256(nil)
	h.Write([]byte{rootType})
	var buf [48]byte
	for _, r := range roots {
		copy(buf[:32], r.Hash[:])
		binary.LittleEndian.PutUint64(buf[32:], r.Index)
		binary.LittleEndian.PutUint64(buf[40:], r.Size)
		h.Write(buf[:])
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}
