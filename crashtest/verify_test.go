package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/corestore"
	"github.com/corebridge/corebridge/plugins/storage"
)

// storedCore is a core as a stopped bridge left it on disk, verified.
type storedCore struct {
	info   core.Info
	values [][]byte
}

// readStore opens the bolt file a stopped bridge left in dataDir
// directly, without a bridge, and reads every core in keys. Each is
// verified three ways: core.Open checks the stored signature against the
// stored tree roots; the roots recomputed here from the stored blocks
// alone must hash to the same tree; and VerifyState checks the signature
// at the stored length once more. So the blocks are exactly what the
// writer signed.
func readStore(t testing.TB, dataDir string, keys []string) map[string]storedCore {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	b, err := storage.OpenBolt(filepath.Join(dataDir, "storage", storage.BoltFile), log)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := corestore.Open(ctx, storage.NewStore("bolt", b), corestore.Options{Dir: dataDir})
	if err != nil {
		b.Close(ctx)
		t.Fatal(err)
	}
	defer cs.Close()
	stored := map[string]bool{}
	for _, k := range cs.StoredKeys() {
		stored[k.String()] = true
	}
	out := map[string]storedCore{}
	for _, hex := range keys {
		if !stored[hex] {
			t.Errorf("%s: core %s is not stored", dataDir, hex)
			continue
		}
		key, err := core.ParseKey(hex)
		if err != nil {
			t.Fatal(err)
		}
		c, err := cs.Get(ctx, corestore.GetOptions{Key: &key})
		if err != nil {
			t.Errorf("%s: core %s does not open (its stored signature does not verify?): %v", dataDir, hex, err)
			continue
		}
		sc, err := verifyCore(ctx, c)
		if err != nil {
			t.Errorf("%s: core %s: %v", dataDir, hex, err)
			continue
		}
		out[hex] = sc
	}
	return out
}

func verifyCore(ctx context.Context, c *core.Core) (storedCore, error) {
	info := c.Info()
	blocks, err := c.Blocks(ctx, 0, info.Length)
	if err != nil {
		return storedCore{}, err
	}
	if uint64(len(blocks)) != info.Length {
		return storedCore{}, fmt.Errorf("%d blocks stored for length %d", len(blocks), info.Length)
	}
	values := make([][]byte, len(blocks))
	var roots []core.Node
	for i, b := range blocks {
		if b.Index != uint64(i) {
			return storedCore{}, fmt.Errorf("block %d stored as index %d", i, b.Index)
		}
		values[i] = b.Value
		roots = append(roots, core.LeafNode(uint64(i), b.Value))
		for len(roots) > 1 {
			l, r := roots[len(roots)-2], roots[len(roots)-1]
			if l.Index != core.Sibling(r.Index) {
				break
			}
			roots = append(roots[:len(roots)-2], core.ParentNode(l, r))
		}
	}
	if got := core.TreeHash(roots); got != info.TreeHash {
		return storedCore{}, fmt.Errorf("the stored blocks hash to tree %x, the stored roots to %x", got, info.TreeHash)
	}
	if info.Length > 0 {
		if err := c.VerifyState(ctx, info.Fork, info.Length, info.Signature); err != nil {
			return storedCore{}, fmt.Errorf("signature at the stored length %d: %w", info.Length, err)
		}
	}
	return storedCore{info: info, values: values}, nil
}

// checkLedger fails the test for every acknowledged value that is not at
// its index in stored, and returns how many it checked.
func checkLedger(t testing.TB, l *ledger, keys []string, stored map[string]storedCore) int {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	checked, missing := 0, 0
	for c, acked := range l.cores {
		sc, ok := stored[keys[c]]
		if !ok {
			continue // reported by readStore
		}
		for index, want := range acked {
			checked++
			if index >= uint64(len(sc.values)) || !bytes.Equal(sc.values[index], want) {
				missing++
				if missing <= 20 {
					got := "nothing"
					if index < uint64(len(sc.values)) {
						got = string(sc.values[index])
					}
					t.Errorf("core %d: acknowledged %s at index %d, stored %s (length %d)", c, want, index, got, len(sc.values))
				}
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged values lost", missing, checked)
	}
	return checked
}

// sameStores fails the test where a reader's stored cores differ from
// the writer's.
func sameStores(t testing.TB, w, r map[string]storedCore) {
	t.Helper()
	for k, wc := range w {
		rc, ok := r[k]
		if !ok {
			t.Errorf("core %s: not stored by the reader", k)
			continue
		}
		wi, ri := wc.info, rc.info
		if wi.Length != ri.Length || wi.Fork != ri.Fork || wi.TreeHash != ri.TreeHash || !bytes.Equal(wi.Signature, ri.Signature) {
			t.Errorf("core %s: writer stored length %d fork %d tree %x, reader length %d fork %d tree %x",
				k, wi.Length, wi.Fork, wi.TreeHash, ri.Length, ri.Fork, ri.TreeHash)
			continue
		}
		for i := range wc.values {
			if !bytes.Equal(wc.values[i], rc.values[i]) {
				t.Errorf("core %s: block %d is %q at the writer, %q at the reader", k, i, wc.values[i], rc.values[i])
				break
			}
		}
	}
}

// checkEvents fails the test for every appended event whose value is not
// the stored block at its index: an event is sent only for what is
// durable, so no crash may take back what an event announced. It returns
// how many events it checked.
func checkEvents(t testing.TB, e *events, keys []string, stored map[string]storedCore) int {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range e.bad {
		t.Error(b)
	}
	wrong := 0
	for _, ev := range e.values {
		sc := stored[keys[ev.core]]
		if ev.index >= uint64(len(sc.values)) || !bytes.Equal(sc.values[ev.index], ev.value) {
			wrong++
			if wrong <= 10 {
				t.Errorf("core %d: an event announced %s at index %d, which is not stored there", ev.core, ev.value, ev.index)
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d events announced blocks that are not stored", wrong, len(e.values))
	}
	return len(e.values)
}

// storedValue is the content of a value the clients append.
type storedValue struct {
	C, R, S, I, N int
}

// checkOrder fails the test unless every stored core holds whole requests
// in order: the n values of a request (acknowledged or not, a batch is
// atomic) at consecutive indexes, first to last, and the requests of each
// client in the order it sent them. It returns how many requests it found.
func checkOrder(t testing.TB, stored map[string]storedCore) int {
	t.Helper()
	requests := 0
	for key, sc := range stored {
		type request struct{ c, r, s int }
		last := map[int]request{} // per client, its last request stored
		for index := 0; index < len(sc.values); {
			var first storedValue
			if err := json.Unmarshal(sc.values[index], &first); err != nil || first.I != 0 || first.N < 1 {
				t.Errorf("core %.8s: block %d (%s) does not start a request", key, index, sc.values[index])
				return requests
			}
			for i := 1; i < first.N; i++ {
				var v storedValue
				if index+i >= len(sc.values) || json.Unmarshal(sc.values[index+i], &v) != nil ||
					v != (storedValue{first.C, first.R, first.S, i, first.N}) {
					t.Errorf("core %.8s: a request of %d values starting at block %d is not whole", key, first.N, index)
					return requests
				}
			}
			req := request{first.C, first.R, first.S}
			if prev, ok := last[first.C]; ok && (req.r < prev.r || req.r == prev.r && req.s <= prev.s) {
				t.Errorf("core %.8s: client %d's request %+v at block %d is stored after its request %+v", key, first.C, req, index, prev)
			}
			last[first.C] = req
			requests++
			index += first.N
		}
	}
	return requests
}
