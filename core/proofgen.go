package core

import (
	"context"
	"fmt"
)

// Proof returns a proof for req in the exact layout JavaScript Hypercore
// produces (spec §5.1), so any Hypercore verifier accepts it. A core that
// holds the nodes can answer, writable or not.
func (c *Core) Proof(ctx context.Context, req ProofRequest) (*Proof, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	s := c.c
	// Hold off mutations so the nodes read belong to one state.
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	h := s.header
	plan, err := planProof(req, h.Length)
	if err != nil {
		return nil, fmt.Errorf("proof of %s: %w", s.key, err)
	}
	nodes, err := s.readNodeMap(ctx, plan.all())
	if err != nil {
		return nil, fmt.Errorf("proof of %s: %w", s.key, err)
	}
	pick := func(idx []uint64) ([]Node, error) {
		out := make([]Node, len(idx))
		for i, x := range idx {
			n, ok := nodes[x]
			if !ok {
				return nil, fmt.Errorf("proof of %s: tree node %d: %w", s.key, x, ErrBlockNotAvailable)
			}
			out[i] = n
		}
		return out, nil
	}
	p := &Proof{Fork: h.Fork}
	if req.Block != nil {
		blocks, err := s.st.ReadBlocks(ctx, req.Block.Index, req.Block.Index+1)
		if err != nil {
			return nil, fmt.Errorf("proof of %s: %w", s.key, err)
		}
		if len(blocks) != 1 {
			return nil, fmt.Errorf("proof of %s: block %d: %w", s.key, req.Block.Index, ErrBlockNotAvailable)
		}
		p.Block = &BlockProof{Index: req.Block.Index, Value: blocks[0].Value}
		if p.Block.Nodes, err = pick(plan.block); err != nil {
			return nil, err
		}
	}
	if req.Upgrade != nil {
		p.Upgrade = &UpgradeProof{Start: req.Upgrade.Start, Length: req.Upgrade.Length, Signature: cloneBytes(h.Signature)}
		if p.Upgrade.Nodes, err = pick(plan.upgrade); err != nil {
			return nil, err
		}
		if p.Upgrade.AdditionalNodes, err = pick(plan.additional); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// readNodeMap reads nodes in one storage call.
func (s *state) readNodeMap(ctx context.Context, idx []uint64) (map[uint64]Node, error) {
	m := make(map[uint64]Node, len(idx))
	if len(idx) == 0 {
		return m, nil
	}
	nodes, err := s.st.ReadNodes(ctx, idx)
	if err != nil {
		return nil, fmt.Errorf("read %d tree nodes: %w", len(idx), err)
	}
	for _, n := range nodes {
		m[n.Index] = n
	}
	return m, nil
}

// proofPlan is which nodes a proof carries, by flat index, in wire order.
type proofPlan struct {
	block, upgrade, additional []uint64
}

func (p proofPlan) all() []uint64 {
	out := make([]uint64, 0, len(p.block)+len(p.upgrade)+len(p.additional))
	out = append(out, p.block...)
	out = append(out, p.upgrade...)
	return append(out, p.additional...)
}

// planProof works out the node indexes of a proof from a tree of length
// blocks. It is pure index arithmetic.
func planProof(req ProofRequest, length uint64) (proofPlan, error) {
	var plan proofPlan
	head := 2 * length
	to := head
	if u := req.Upgrade; u != nil {
		if u.Length == 0 || u.Start > length || u.Length > length-u.Start {
			return plan, fmt.Errorf("%w: upgrade %d+%d of a core of length %d", ErrOutOfRange, u.Start, u.Length, length)
		}
		to = 2 * (u.Start + u.Length)
	}
	var leaf uint64
	inUpgrade := false
	if b := req.Block; b != nil {
		if b.Index >= length {
			return plan, fmt.Errorf("%w: block %d of a core of length %d", ErrOutOfRange, b.Index, length)
		}
		leaf = 2 * b.Index
		if u := req.Upgrade; u != nil && b.Index >= u.Start {
			if b.Index >= u.Start+u.Length {
				return plan, fmt.Errorf("%w: block %d is past upgrade %d+%d", ErrOutOfRange, b.Index, u.Start, u.Length)
			}
			inUpgrade = true
		}
	}
	blockRoot := leaf
	if u := req.Upgrade; u != nil {
		var found bool
		plan.upgrade, blockRoot, found = upgradeNodes(2*u.Start, to, leaf, inUpgrade)
		if inUpgrade && !found {
			return plan, fmt.Errorf("%w: block %d not under upgrade %d+%d", ErrInvalidProof, req.Block.Index, u.Start, u.Length)
		}
		if head > to {
			plan.additional, _, _ = upgradeNodes(to, head, 0, false)
		}
	}
	if b := req.Block; b != nil {
		if !inUpgrade {
			blockRoot = nodesToRoot(leaf, b.Nodes, to)
		}
		plan.block = pathSiblings(leaf, blockRoot)
	}
	return plan, nil
}

// nodesToRoot walks up from leaf at most nodes levels, stopping below the
// first parent that reaches past head, and returns where it stopped.
func nodesToRoot(leaf, nodes, head uint64) uint64 {
	x := leaf
	for i := uint64(0); i < nodes; i++ {
		p := Parent(x)
		if RightSpan(p) >= head {
			break
		}
		x = p
	}
	return x
}

// pathSiblings returns the siblings met walking up from leaf to root,
// bottom-up: the block part of a proof.
func pathSiblings(leaf, root uint64) []uint64 {
	var out []uint64
	for x := leaf; x != root; x = Parent(x) {
		out = append(out, Sibling(x))
	}
	return out
}

// upgradeNodes lists the nodes that take a verifier holding the leaves before
// flat index from to the full roots of to (spec §5.1), in the order
// JavaScript Hypercore emits them: roots the verifier already has are
// skipped; the root over the verifier's last leaf is reached by the right
// siblings on the path up from that leaf; other roots are sent whole. When
// withBlock is set, the first node that would cover blockLeaf is left out:
// the block proof proves it instead, and blockRoot says which node that is.
func upgradeNodes(from, to, blockLeaf uint64, withBlock bool) (nodes []uint64, blockRoot uint64, found bool) {
	take := func(x uint64) {
		if withBlock && !found && spans(x, blockLeaf) {
			blockRoot, found = x, true
			return
		}
		nodes = append(nodes, x)
	}
	for _, r := range FullRoots(to) {
		if RightSpan(r) < from {
			continue
		}
		if from > 0 && spans(r, from-2) {
			last := from - 2
			for x := last; x != r; x = Parent(x) {
				if s := Sibling(x); s > last {
					take(s)
				}
			}
			continue
		}
		take(r)
	}
	return nodes, blockRoot, found
}
