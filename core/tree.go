package core

import "math/bits"

// This file is flat-tree arithmetic: the in-order layout Hypercore uses for
// its Merkle tree (spec §3.1). Leaf i has flat index 2i; parents have odd
// indexes. Everything here is pure: no hashing, no I/O.

// Depth returns the depth of flat index x: the number of trailing one bits.
func Depth(x uint64) uint64 { return uint64(bits.TrailingZeros64(^x)) }

// Offset returns the position of x among the nodes of its depth.
func Offset(x uint64) uint64 { return x >> (Depth(x) + 1) }

// FlatIndex returns the flat index of the node at depth d and offset o.
func FlatIndex(d, o uint64) uint64 { return o<<(d+1) | (1<<d - 1) }

// Parent returns the flat index of x's parent.
func Parent(x uint64) uint64 {
	d := Depth(x)
	return FlatIndex(d+1, Offset(x)>>1)
}

// Sibling returns the flat index of the other child of x's parent.
func Sibling(x uint64) uint64 {
	d := Depth(x)
	return FlatIndex(d, Offset(x)^1)
}

// Children returns the two children of x; ok is false for a leaf.
func Children(x uint64) (left, right uint64, ok bool) {
	d := Depth(x)
	if d == 0 {
		return 0, 0, false
	}
	o := Offset(x) * 2
	return FlatIndex(d-1, o), FlatIndex(d-1, o+1), true
}

// LeftSpan returns the flat index of the leftmost leaf under x.
func LeftSpan(x uint64) uint64 {
	d := Depth(x)
	return Offset(x) << (d + 1)
}

// RightSpan returns the flat index of the rightmost leaf under x.
func RightSpan(x uint64) uint64 {
	d := Depth(x)
	return (Offset(x)+1)<<(d+1) - 2
}

// FullRoots returns the roots of a tree whose leaves end before flat index
// head (so a tree of n blocks has FullRoots(2n)): its maximal perfect
// subtrees, left to right. head must be even.
func FullRoots(head uint64) []uint64 {
	n := head / 2
	roots := make([]uint64, 0, bits.OnesCount64(n))
	var offset uint64
	for n > 0 {
		f := uint64(1) << (63 - bits.LeadingZeros64(n))
		roots = append(roots, offset+f-1)
		offset += 2 * f
		n -= f
	}
	return roots
}

// spans reports whether leaf (a flat index) lies under x.
func spans(x, leaf uint64) bool { return LeftSpan(x) <= leaf && leaf <= RightSpan(x) }
