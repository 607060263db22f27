package core

import (
	"fmt"
	"math/bits"
)

// maxLength bounds lengths in proofs and updates so flat indexes (2*length)
// never overflow.
const maxLength = 1 << 62

// checked is what a verified proof establishes.
type checked struct {
	nodes    []Node // every node the proof proves (including computed parents)
	block    *Block
	upgraded bool
	roots    []Node // the full roots at length (upgrade only)
	length   uint64
}

// nodeLookup returns a node the verifier already trusts.
type nodeLookup func(index uint64) (Node, bool, error)

// verifyProof checks p for a verifier whose trusted tree has the full roots
// startRoots at p.Upgrade.Start (when p upgrades) and whose other trusted
// nodes are reached through trusted. It consumes nodes strictly in the
// order JavaScript Hypercore produces them and rejects any surplus.
func verifyProof(sc *scheme, startRoots []Node, trusted nodeLookup, p *Proof) (*checked, error) {
	out := &checked{}
	var candidate *Node
	if b := p.Block; b != nil {
		if b.Index >= maxLength || len(b.Value) > MaxBlockSize {
			return nil, fmt.Errorf("%w: block %d of %d bytes", ErrInvalidProof, b.Index, len(b.Value))
		}
		cur := LeafNode(b.Index, b.Value)
		out.nodes = append(out.nodes, cur)
		for _, n := range b.Nodes {
			if n.Index != Sibling(cur.Index) {
				return nil, fmt.Errorf("%w: block %d: node %d is not the sibling of %d", ErrInvalidProof, b.Index, n.Index, cur.Index)
			}
			cur = ParentNode(cur, n)
			out.nodes = append(out.nodes, n, cur)
		}
		candidate = &cur
		out.block = &Block{Index: b.Index, Value: b.Value}
	}
	inUpgrade := p.Upgrade != nil && p.Block != nil && p.Block.Index >= p.Upgrade.Start
	if candidate != nil && !inUpgrade {
		if err := anchor(*candidate, trusted); err != nil {
			return nil, err
		}
	}
	if p.Upgrade == nil {
		return out, nil
	}
	var blockRoot *Node
	if inUpgrade {
		blockRoot = candidate
	}
	g, err := verifyUpgrade(p.Upgrade, startRoots, blockRoot)
	if err != nil {
		return nil, err
	}
	length := RightSpan(g.roots[len(g.roots)-1].Index)/2 + 1
	if err := sc.verify(p.Upgrade.Signature, TreeHash(g.roots), length, p.Fork); err != nil {
		return nil, err
	}
	out.nodes = append(out.nodes, g.nodes...)
	out.upgraded, out.roots, out.length = true, g.roots, length
	return out, nil
}

// anchor checks that a computed subtree root equals a trusted node.
func anchor(n Node, trusted nodeLookup) error {
	t, ok, err := trusted(n.Index)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: node %d is not known to the verifier", ErrInvalidProof, n.Index)
	}
	if t != n {
		return fmt.Errorf("%w: node %d does not match the verified tree", ErrInvalidProof, n.Index)
	}
	return nil
}

// verifyUpgrade rebuilds the full roots an upgrade proves, from the
// verifier's roots at u.Start, the upgrade nodes, the block proof's subtree
// root (when the block lies inside the upgrade) and the additional nodes.
func verifyUpgrade(u *UpgradeProof, startRoots []Node, blockRoot *Node) (*growth, error) {
	if u.Length == 0 || u.Start >= maxLength || u.Length >= maxLength-u.Start {
		return nil, fmt.Errorf("%w: upgrade %d+%d", ErrInvalidProof, u.Start, u.Length)
	}
	from, to := 2*u.Start, 2*(u.Start+u.Length)
	queue := u.Nodes
	take := func(index uint64) (Node, error) {
		if blockRoot != nil && blockRoot.Index == index {
			n := *blockRoot
			blockRoot = nil
			return n, nil
		}
		if len(queue) == 0 {
			return Node{}, fmt.Errorf("%w: upgrade: expected node %d, got none", ErrInvalidProof, index)
		}
		n := queue[0]
		queue = queue[1:]
		if n.Index != index {
			return Node{}, fmt.Errorf("%w: upgrade: expected node %d, got %d", ErrInvalidProof, index, n.Index)
		}
		return n, nil
	}
	g := newGrowth(startRoots, u.Start)
	g.nodes = nil
	for _, r := range FullRoots(to) {
		if RightSpan(r) < from {
			continue // the verifier's own root
		}
		if from > 0 && spans(r, from-2) {
			// Grow the verifier's last root up to r with right siblings.
			for top := g.roots[len(g.roots)-1].Index; top != r; top = g.roots[len(g.roots)-1].Index {
				s := Sibling(top)
				if s < top || Depth(top) >= Depth(r) {
					return nil, fmt.Errorf("%w: upgrade: verifier's roots do not lead to node %d", ErrInvalidProof, r)
				}
				n, err := take(s)
				if err != nil {
					return nil, err
				}
				g.add(n)
			}
			continue
		}
		n, err := take(r)
		if err != nil {
			return nil, err
		}
		g.add(n)
	}
	if blockRoot != nil {
		return nil, fmt.Errorf("%w: block proof ends at node %d, which the upgrade does not use", ErrInvalidProof, blockRoot.Index)
	}
	if len(queue) != 0 {
		return nil, fmt.Errorf("%w: upgrade: %d unexpected trailing nodes", ErrInvalidProof, len(queue))
	}
	if err := extend(g, u.AdditionalNodes); err != nil {
		return nil, err
	}
	last := g.roots[len(g.roots)-1].Index
	length := RightSpan(last)/2 + 1
	want := FullRoots(2 * length)
	if len(want) != len(g.roots) {
		return nil, fmt.Errorf("%w: upgrade does not end in the full roots of length %d", ErrInvalidProof, length)
	}
	for i := range want {
		if g.roots[i].Index != want[i] {
			return nil, fmt.Errorf("%w: upgrade does not end in the full roots of length %d", ErrInvalidProof, length)
		}
	}
	return g, nil
}

// extend applies an upgrade's additional nodes: first right siblings that
// grow the last root, then whole roots further right.
func extend(g *growth, extra []Node) error {
	i := 0
	for i < len(extra) {
		top := g.roots[len(g.roots)-1].Index
		s := Sibling(top)
		if s < top || extra[i].Index != s {
			break
		}
		g.add(extra[i])
		i++
	}
	pos := Sibling(g.roots[len(g.roots)-1].Index)
	for ; i < len(extra); i++ {
		n := extra[i]
		for n.Index != pos {
			l, _, ok := Children(pos)
			if !ok || n.Index > RightSpan(pos) || n.Index < LeftSpan(pos) {
				return fmt.Errorf("%w: unexpected additional node %d", ErrInvalidProof, n.Index)
			}
			pos = l
		}
		g.add(n)
		pos = Sibling(n.Index)
		if bits.LeadingZeros64(pos) < 2 {
			return fmt.Errorf("%w: additional node %d out of range", ErrInvalidProof, n.Index)
		}
	}
	return nil
}
