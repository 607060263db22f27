package core

// VerifyProofAt checks p as a verifier holding the full roots startRoots at
// p.Upgrade.Start would, with trusted as its other known nodes. Tests use it
// for vector proofs whose starting state was never signed on its own.
func VerifyProofAt(key Key, m *Manifest, startRoots []Node, trusted func(uint64) (Node, bool), p *Proof) error {
	sc := compatScheme(key)
	if m != nil {
		var err error
		if sc, err = manifestScheme(m, key); err != nil {
			return err
		}
	}
	_, err := verifyProof(&sc, startRoots, func(i uint64) (Node, bool, error) {
		n, ok := trusted(i)
		return n, ok, nil
	}, p)
	return err
}
