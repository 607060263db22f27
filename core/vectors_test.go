package core_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"testing"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/corestore"
	"github.com/corebridge/corebridge/internal/vectors"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/crypto/blake2b"
)

// TestVectors walks every section of every vector file: the public sets in
// testdata and any named in $HYPERCORE_VECTORS.
func TestVectors(t *testing.T) {
	for _, path := range vectors.Paths("../testdata") {
		t.Run(path, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := vectors.Parse(path, data)
			if err != nil {
				t.Fatal(err)
			}
			r := &recorder{}
			walk(r, f)
			for _, e := range r.errs {
				t.Error(e)
			}
			if r.checks < 500 {
				t.Errorf("only %d checks ran; the walker skipped sections", r.checks)
			}
			t.Logf("%d checks", r.checks)
		})
	}
}

// recorder collects mismatches, so a test can also assert that a walk fails.
type recorder struct {
	errs   []string
	checks int
}

func (r *recorder) fail(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// eq records a mismatch between got and want under what.
func (r *recorder) eq(what string, got, want any) {
	r.checks++
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		r.fail("%s: mismatch (-want +got):\n%s", what, d)
	}
}

// hex32 decodes a 32-byte vector field or records why it cannot.
func (r *recorder) hex32(what, s string) [32]byte {
	b, err := vectors.Hex32(s)
	if err != nil {
		r.fail("%s: %v", what, err)
	}
	return b
}

func (r *recorder) hex(what, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		r.fail("%s: %v", what, err)
	}
	if b == nil {
		b = []byte{}
	}
	return b
}

func walk(r *recorder, f *vectors.File) {
	ctx := context.Background()
	walkConstants(r, f)
	walkCorestore(ctx, r, f)
	for i := range f.Hypercore {
		walkHypercore(ctx, r, fmt.Sprintf("hypercore[%d] %s", i, f.Hypercore[i].Description), &f.Hypercore[i])
	}
	walkReplication(r, f)
}

func walkConstants(r *recorder, f *vectors.File) {
	c := f.Constants
	r.eq("constants corestore.NS", hex.EncodeToString(corestore.NS[:]), c.CorestoreNS)
	r.eq("constants corestore default namespace", hex.EncodeToString(corestore.DefaultNamespace[:]), c.DefaultNamespace)
	ns := core.Namespace("hypercore", 6)
	names := []string{"TREE", "REPLICATE_INITIATOR", "REPLICATE_RESPONDER", "MANIFEST", "DEFAULT_NAMESPACE", "BLOCK_ENCRYPTION"}
	for i, n := range names {
		r.eq("constants hypercore "+n, hex.EncodeToString(ns[i][:]), c.HypercoreNS[n])
	}
	r.eq("constants TREE", core.TreeNamespace, ns[0])
	r.eq("constants MANIFEST", core.ManifestNamespace, ns[3])
	r.eq("constants signer namespace", core.DefaultSignerNamespace, ns[4])
	r.eq("constants hypercore key count", len(c.HypercoreNS), len(names))
	for name, want := range map[string]string{"corestore": c.Corestore, "hypercore": c.Hypercore} {
		h := blake2b.Sum256([]byte(name))
		r.eq("constants blake2b("+name+")", hex.EncodeToString(h[:]), want)
	}
}

func walkCorestore(ctx context.Context, r *recorder, f *vectors.File) {
	cs := f.Corestore
	pk := r.hex("corestore primaryKey", cs.PrimaryKey)
	other := r.hex32("corestore otherPrimaryKey", cs.OtherPrimaryKey)
	stores := map[bool]*corestore.Store{}
	for _, compat := range []bool{false, true} {
		s, err := corestore.Open(ctx, corestore.NewMemoryBackend(), corestore.Options{PrimaryKey: pk, Compat: compat, Sessions: semantics(f)})
		if err != nil {
			r.fail("open corestore: %v", err)
			return
		}
		defer s.Close()
		stores[compat] = s
	}
	for _, n := range cs.Namespaces {
		s := stores[false]
		for _, p := range n.Path {
			s = s.Namespace(p)
		}
		ns := s.NamespaceKey()
		r.eq(fmt.Sprintf("namespace %q", n.Path), hex.EncodeToString(ns[:]), n.Namespace)
	}
	for i, c := range cs.Cases {
		what := fmt.Sprintf("corestore case %d (%q %q)", i, c.NamespacePath, c.Name)
		s := stores[c.Compat]
		for _, p := range c.NamespacePath {
			s = s.Namespace(p)
		}
		ns := s.NamespaceKey()
		r.eq(what+" namespace", hex.EncodeToString(ns[:]), c.Namespace)
		r.eq(what+" name utf8", hex.EncodeToString([]byte(c.Name)), c.NameUTF8Hex)
		kp := s.CreateKeyPair(c.Name)
		r.eq(what+" seed", hex.EncodeToString(kp.SecretKey.Seed()), c.Seed)
		r.eq(what+" public key", hex.EncodeToString(kp.PublicKey), c.PublicKey)
		r.eq(what+" secret key", hex.EncodeToString(kp.SecretKey), c.SecretKey)
		cr, err := s.Get(ctx, corestore.GetOptions{Name: c.Name})
		if err != nil {
			r.fail("%s: get: %v", what, err)
			continue
		}
		r.eq(what+" key", cr.Key().String(), c.Key)
		r.eq(what+" discovery key", cr.DiscoveryKey().String(), c.DiscoveryKey)
		r.eq(what+" id", cr.ID(), c.ID)
		r.eq(what+" writable", cr.Writable(), true)
		info := cr.Info()
		r.eq(what+" manifest", hex.EncodeToString(info.Manifest), c.ManifestEncoded)
		if c.Manifest != nil {
			checkManifest(r, what, c.Manifest, c.ManifestEncoded, c.Key)
		}
		parsed, err := core.ParseKey(c.ID)
		r.eq(what+" parse id", fmt.Sprint(parsed.String(), err), fmt.Sprint(c.Key, nil))
	}
	for i, k := range cs.KeyPairOnly {
		what := fmt.Sprintf("keyPairOnly %d", i)
		s := stores[false]
		for _, p := range k.NamespacePath {
			s = s.Namespace(p)
		}
		ns := s.NamespaceKey()
		r.eq(what+" namespace", hex.EncodeToString(ns[:]), k.Namespace)
		kp := s.CreateKeyPair(k.Name)
		r.eq(what+" seed", hex.EncodeToString(kp.SecretKey.Seed()), k.Seed)
		r.eq(what+" public key", hex.EncodeToString(kp.PublicKey), k.PublicKey)
		r.eq(what+" secret key", hex.EncodeToString(kp.SecretKey), k.SecretKey)
		var pub core.Key
		copy(pub[:], kp.PublicKey)
		dk := core.DiscoveryKey(pub)
		r.eq(what+" discovery key of public key", hex.EncodeToString(dk[:]), k.DiscoveryKeyOfPublicKey)
		_, err := s.Get(ctx, corestore.GetOptions{Name: k.Name})
		r.eq(what+" get refuses the empty name", err != nil, k.Name == "")
	}
	for i, sv := range cs.Sessions {
		what := fmt.Sprintf("session %d %s", i, sv.Description)
		s, ok := sessionExpr(stores[false], other, sv.Description, f)
		if !ok {
			r.fail("%s: unknown session expression", what)
			continue
		}
		ns, spk := s.NamespaceKey(), s.PrimaryKey()
		r.eq(what+" namespace", hex.EncodeToString(ns[:]), sv.EffectiveNamespace)
		r.eq(what+" primary key", hex.EncodeToString(spk[:]), sv.EffectivePrimaryKey)
		r.eq(what+" public key", hex.EncodeToString(s.CreateKeyPair(sv.Name).PublicKey), sv.PublicKey)
	}
}

func semantics(f *vectors.File) corestore.Semantics {
	if f.Impl == "v7" {
		return corestore.SessionsV7
	}
	return corestore.SessionsV6
}

// sessionExpr builds the session a vector's description names.
func sessionExpr(s *corestore.Store, other [32]byte, desc string, f *vectors.File) (*corestore.Store, bool) {
	ab := s.Namespace("a").Namespace("b").NamespaceKey()
	switch desc {
	case `store.session({ primaryKey: otherPrimaryKey })`:
		return s.Session(corestore.SessionOptions{PrimaryKey: &other}), true
	case `store.session({ primaryKey: otherPrimaryKey }).namespace("a")`:
		return s.Session(corestore.SessionOptions{PrimaryKey: &other}).Namespace("a"), true
	case `store.namespace("a").session()`:
		return s.Namespace("a").Session(corestore.SessionOptions{}), true
	case `store.namespace("a").session({ namespace: null })`:
		return s.Namespace("a").Session(corestore.SessionOptions{DefaultNamespace: true}), true
	case `store.session({ namespace: <namespace bytes of path ["a","b"]> })`:
		return s.Session(corestore.SessionOptions{Namespace: &ab}), true
	case `store.namespace("a").namespace("b")`:
		return s.Namespace("a").Namespace("b"), true
	case `store.namespace(Buffer.from("a"))  (Buffer name, same bytes as "a")`:
		return s.NamespaceBytes([]byte("a")), true
	}
	return nil, false
}

func checkManifest(r *recorder, what string, m *vectors.Manifest, encoded, key string) {
	dm, err := core.DecodeManifest(r.hex(what+" manifest bytes", encoded))
	if err != nil {
		r.fail("%s: decode manifest: %v", what, err)
		return
	}
	r.eq(what+" manifest version", dm.Version, m.Version)
	r.eq(what+" manifest quorum", dm.Quorum, m.Quorum)
	r.eq(what+" manifest allowPatch", dm.AllowPatch, m.AllowPatch)
	r.eq(what+" manifest hash type", m.Hash, "blake2b")
	r.eq(what+" manifest signers", len(dm.Signers), len(m.Signers))
	for i := range min(len(dm.Signers), len(m.Signers)) {
		r.eq(what+" signer type", m.Signers[i].Signature, "ed25519")
		r.eq(what+" signer namespace", hex.EncodeToString(dm.Signers[i].Namespace[:]), m.Signers[i].Namespace)
		r.eq(what+" signer public key", hex.EncodeToString(dm.Signers[i].PublicKey[:]), m.Signers[i].PublicKey)
	}
	r.eq(what+" manifest re-encoded", hex.EncodeToString(dm.Encode()), encoded)
	r.eq(what+" manifest hash", dm.Hash().String(), key)
}

func walkReplication(r *recorder, f *vectors.File) {
	hh := r.hex("replication handshake hash", f.Repl.HandshakeHash)
	r.eq("replication capability count", len(f.Repl.Capabilities) > 0, true)
	for i, c := range f.Repl.Capabilities {
		key := core.Key(r.hex32("capability key", c.CoreKey))
		ini, err1 := core.Capability(hh, true, key)
		res, err2 := core.Capability(hh, false, key)
		r.eq(fmt.Sprintf("capability %d errors", i), fmt.Sprint(err1, err2), fmt.Sprint(nil, nil))
		r.eq(fmt.Sprintf("capability %d initiator", i), hex.EncodeToString(ini[:]), c.CapabilityInitiator)
		r.eq(fmt.Sprintf("capability %d responder", i), hex.EncodeToString(res[:]), c.CapabilityResponder)
		// The channel-open handshake: flags (1) then the capability.
		r.eq(fmt.Sprintf("capability %d handshake message", i), "01"+hex.EncodeToString(ini[:]), c.HandshakeMessageInitiator)
	}
}

// nodesOf converts vector nodes.
func nodesOf(r *recorder, what string, vs []vectors.Node) []core.Node {
	out := make([]core.Node, len(vs))
	for i, v := range vs {
		out[i] = core.Node{Index: v.Index, Size: v.Size, Hash: r.hex32(what, v.Hash)}
	}
	return out
}
