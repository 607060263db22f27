package corestore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/corestore"
)

func TestPrimaryKeyFile(t *testing.T) {
	dir := t.TempDir()
	k1, err := corestore.LoadPrimaryKey(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, corestore.PrimaryKeyFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 32 || fi.Mode().Perm() != 0o600 {
		t.Errorf("primary-key is %d bytes, mode %v; want 32 bytes, 0600", fi.Size(), fi.Mode().Perm())
	}
	if k1 == ([32]byte{}) {
		t.Error("primary key is all zeros")
	}
	k2, err := corestore.LoadPrimaryKey(dir, nil)
	if err != nil || k2 != k1 {
		t.Errorf("second load = %x, %v; want the stored key", k2, err)
	}
	override := bytes.Repeat([]byte{7}, 32)
	k3, err := corestore.LoadPrimaryKey(dir, override)
	if err != nil || !bytes.Equal(k3[:], override) {
		t.Errorf("override = %x, %v; want the override", k3, err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, k1[:]) {
		t.Error("an override rewrote the existing primary-key file")
	}
	if _, err := corestore.LoadPrimaryKey(dir, []byte{1, 2, 3}); err == nil {
		t.Error("a 3-byte primary key was accepted")
	}
	// A fresh directory takes the override as its key.
	dir2 := t.TempDir()
	if _, err := corestore.LoadPrimaryKey(dir2, override); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir2, corestore.PrimaryKeyFile)); !bytes.Equal(b, override) {
		t.Errorf("new primary-key file holds %x, want the override", b)
	}
}

func openStore(t *testing.T, b corestore.Backend, dir string, opts corestore.Options) *corestore.Store {
	t.Helper()
	opts.Dir = dir
	s, err := corestore.Open(context.Background(), b, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNamesSurviveRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	backend := corestore.NewMemoryBackend()
	s := openStore(t, backend, dir, corestore.Options{})
	a, err := s.Get(ctx, corestore.GetOptions{Name: "core-1", UserData: map[string][]byte{"valueEncoding": []byte("json")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Append(ctx, [][]byte{[]byte("x"), []byte("y")}); err != nil {
		t.Fatal(err)
	}
	b, err := s.Namespace("app").Get(ctx, corestore.GetOptions{Name: "core-1"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Key() == b.Key() {
		t.Fatal("the same name in two namespaces gave one key")
	}
	keyA, keyB := a.Key(), b.Key()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := openStore(t, backend, dir, corestore.Options{})
	defer s2.Close()
	owned := s2.Owned()
	if len(owned) != 2 {
		t.Fatalf("owned = %+v, want 2 cores", owned)
	}
	names := map[core.Key]string{}
	for _, o := range owned {
		names[o.Key] = o.Name
	}
	if names[keyA] != "core-1" || names[keyB] != "core-1" {
		t.Errorf("owned names = %v", names)
	}
	a2, err := s2.Get(ctx, corestore.GetOptions{Name: "core-1"})
	if err != nil {
		t.Fatal(err)
	}
	if a2.Key() != keyA || a2.Length() != 2 || !a2.Writable() {
		t.Errorf("reopened by name: key %s length %d writable %v", a2.Key(), a2.Length(), a2.Writable())
	}
	if got := string(a2.Info().UserData["valueEncoding"]); got != "json" {
		t.Errorf("user data valueEncoding = %q", got)
	}
	if got := s2.StoredKeys(); len(got) != 2 {
		t.Errorf("StoredKeys = %v, want both cores", got)
	}
	byKey, err := s2.Get(ctx, corestore.GetOptions{Key: &keyB})
	if err != nil {
		t.Fatal(err)
	}
	if !byKey.Writable() {
		t.Error("a core this store derived opened read-only by key")
	}
}

func TestGetByKeyOfForeignCoreIsReadOnly(t *testing.T) {
	ctx := context.Background()
	other := openStore(t, corestore.NewMemoryBackend(), t.TempDir(), corestore.Options{})
	defer other.Close()
	c, err := other.Get(ctx, corestore.GetOptions{Name: "theirs"})
	if err != nil {
		t.Fatal(err)
	}
	key := c.Key()
	s := openStore(t, corestore.NewMemoryBackend(), t.TempDir(), corestore.Options{})
	defer s.Close()
	r, err := s.Get(ctx, corestore.GetOptions{Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	if r.Writable() {
		t.Fatal("a foreign core is writable")
	}
	if _, err := r.Append(ctx, [][]byte{[]byte("no")}); !errors.Is(err, core.ErrNotWritable) {
		t.Errorf("append to a foreign core: %v, want ErrNotWritable", err)
	}
	if _, err := s.Get(ctx, corestore.GetOptions{}); !errors.Is(err, corestore.ErrNoNameOrKey) {
		t.Errorf("get without name or key: %v", err)
	}
}

func TestCompatKeysAndModeChange(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	backend := corestore.NewMemoryBackend()
	s := openStore(t, backend, dir, corestore.Options{Compat: true})
	c, err := s.Get(ctx, corestore.GetOptions{Name: "main"})
	if err != nil {
		t.Fatal(err)
	}
	kp := s.CreateKeyPair("main")
	if c.Key() != core.Key(kp.PublicKey) {
		t.Errorf("compat key %s, want the public key %x", c.Key(), kp.PublicKey)
	}
	s.Close()
	// Reopened without compat, the existing core keeps its key; a new name
	// gets a manifest key.
	s2 := openStore(t, backend, dir, corestore.Options{})
	defer s2.Close()
	c2, err := s2.Get(ctx, corestore.GetOptions{Name: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Key() != c.Key() {
		t.Errorf("mode change re-keyed an existing core: %s, was %s", c2.Key(), c.Key())
	}
	n, err := s2.Get(ctx, corestore.GetOptions{Name: "new"})
	if err != nil {
		t.Fatal(err)
	}
	if n.Key() != core.DefaultManifest(1, s2.CreateKeyPair("new").PublicKey).Hash() {
		t.Error("a new core in manifest mode does not have the manifest key")
	}
}

func TestExclusiveSessions(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, corestore.NewMemoryBackend(), t.TempDir(), corestore.Options{})
	defer s.Close()
	first, err := s.Get(ctx, corestore.GetOptions{Name: "x", Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := s.Get(short, corestore.GetOptions{Name: "x", Exclusive: true}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second exclusive session while the first is open: %v, want a deadline error", err)
	}
	got := make(chan error, 1)
	go func() {
		c, err := s.Get(ctx, corestore.GetOptions{Name: "x", Exclusive: true})
		if err == nil {
			c.Close()
		}
		got <- err
	}()
	// A non-exclusive session is not held up.
	if c, err := s.Get(ctx, corestore.GetOptions{Name: "x"}); err != nil {
		t.Fatalf("plain session: %v", err)
	} else {
		c.Close()
	}
	first.Close()
	if err := <-got; err != nil {
		t.Fatalf("waiting exclusive session: %v", err)
	}
}

func TestSessionAttachClosesParent(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, corestore.NewMemoryBackend(), t.TempDir(), corestore.Options{})
	defer s.Close()
	parent := s.Session(corestore.SessionOptions{})
	pc, err := parent.Get(ctx, corestore.GetOptions{Name: "p"})
	if err != nil {
		t.Fatal(err)
	}
	detached := parent.Session(corestore.SessionOptions{})
	detached.Close()
	if _, err := pc.Append(ctx, [][]byte{[]byte("still open")}); err != nil {
		t.Fatalf("closing a detached session closed its parent's cores: %v", err)
	}
	attached := parent.Session(corestore.SessionOptions{Attach: true})
	attached.Close()
	if _, err := pc.Append(ctx, [][]byte{[]byte("closed")}); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("after closing an attached session, the parent's core: %v, want ErrClosed", err)
	}
	if _, err := parent.Get(ctx, corestore.GetOptions{Name: "p"}); !errors.Is(err, corestore.ErrStoreClosed) {
		t.Errorf("get on the closed parent: %v", err)
	}
}

func TestOnCoreSeesEveryLoadedCoreOnce(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	seen := map[core.Key]int{}
	s := openStore(t, corestore.NewMemoryBackend(), t.TempDir(), corestore.Options{OnCore: func(c *core.Core) {
		mu.Lock()
		seen[c.Key()]++
		mu.Unlock()
	}})
	defer s.Close()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := []string{"a", "b"}[i%2]
			c, err := s.Get(ctx, corestore.GetOptions{Name: name})
			if err != nil {
				t.Error(err)
				return
			}
			c.Close()
		}(i)
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("hook saw %d cores, want 2", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("hook saw %s %d times", k, n)
		}
	}
	if l := s.Loaded(); len(l) != 2 {
		t.Errorf("Loaded lists %d cores, want 2", len(l))
	}
}

// TestLayering checks that core and corestore stay free of gRPC, go-plugin
// and NATS, so they can be embedded anywhere.
func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/corebridge/corebridge/core", "github.com/corebridge/corebridge/corestore").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"google.golang.org/grpc", "github.com/hashicorp/go-plugin", "github.com/nats-io/"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("core/corestore depend on %s", dep)
			}
		}
	}
}
