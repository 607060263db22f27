package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.etcd.io/bbolt"

	"github.com/corebridge/corebridge/core"
)

func dkOf(i int) [32]byte {
	var dk [32]byte
	copy(dk[:], fmt.Sprintf("bolt test core %d", i))
	return dk
}

// heldBolt is a Bolt whose committer stops before its first transaction
// until release is closed, so that the commits sent meanwhile queue up and
// land in one group. groups receives the size of every group.
type heldBolt struct {
	*Bolt
	release chan struct{}
	groups  chan int
}

func openHeldBolt(t *testing.T, apply func([32]byte) error) *heldBolt {
	t.Helper()
	h := &heldBolt{release: make(chan struct{}), groups: make(chan int, 100)}
	first := true
	hooks := boltHooks{
		beforeGroup: func(n int) {
			h.groups <- n
			if first { // only the committer goroutine runs this
				first = false
				<-h.release
			}
		},
		apply: apply,
	}
	b, err := openBolt(filepath.Join(t.TempDir(), BoltFile), slog.New(slog.NewTextHandler(io.Discard, nil)), hooks)
	if err != nil {
		t.Fatal(err)
	}
	h.Bolt = b
	t.Cleanup(func() { b.Close(context.Background()) })
	return h
}

// waitQueued waits until n commits wait in the committer's queue.
func (h *heldBolt) waitQueued(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(h.queue) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d commits queued after 30s, want %d", len(h.queue), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func (h *heldBolt) group(t *testing.T) int {
	t.Helper()
	select {
	case n := <-h.groups:
		return n
	case <-time.After(30 * time.Second):
		t.Fatal("no group committed within 30s")
		return 0
	}
}

func batchOf(i int) *core.Batch {
	return &core.Batch{
		Header: &core.Header{Length: 1, Fork: uint64(i)},
		Blocks: []core.Block{{Index: 0, Value: []byte(fmt.Sprint("value ", i))}},
		Nodes:  []core.Node{{Index: 0, Size: uint64(i)}},
	}
}

// commitAsync commits batchOf(i) to core i and sends the result on a
// channel.
func commitAsync(ctx context.Context, b Backend, i int) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- b.Commit(ctx, dkOf(i), batchOf(i)) }()
	return ch
}

func TestBoltGroupsConcurrentCommits(t *testing.T) {
	h := openHeldBolt(t, nil)
	ctx := t.Context()
	first := commitAsync(ctx, h, 0)
	if n := h.group(t); n != 1 {
		t.Fatalf("first group of %d commits, want 1", n)
	}
	const waiting = 20
	var results []<-chan error
	for i := 1; i <= waiting; i++ {
		results = append(results, commitAsync(ctx, h, i))
	}
	h.waitQueued(t, waiting)
	close(h.release)
	if n := h.group(t); n != waiting {
		t.Errorf("commits that waited went in a group of %d, want one group of %d", n, waiting)
	}
	for i, ch := range append([]<-chan error{first}, results...) {
		if err := <-ch; err != nil {
			t.Errorf("commit %d: %v", i, err)
		}
		got, err := h.ReadHeader(ctx, dkOf(i))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(batchOf(i).Header, got); diff != "" {
			t.Errorf("core %d header (-committed +stored):\n%s", i, diff)
		}
	}
}

var errInjected = errors.New("injected failure")

// A batch that fails inside the shared transaction fails alone: the others
// of its group are committed, each in a transaction of its own.
func TestBoltFailingBatchDoesNotPoisonItsGroup(t *testing.T) {
	const bad = 2
	h := openHeldBolt(t, func(dk [32]byte) error {
		if dk == dkOf(bad) {
			return errInjected
		}
		return nil
	})
	ctx := t.Context()
	first := commitAsync(ctx, h, 0)
	h.group(t)
	var results []<-chan error
	for i := 1; i <= 4; i++ {
		results = append(results, commitAsync(ctx, h, i))
	}
	h.waitQueued(t, 4)
	close(h.release)
	if n := h.group(t); n != 4 {
		t.Errorf("group of %d commits, want 4", n)
	}
	if err := <-first; err != nil {
		t.Errorf("commit 0: %v", err)
	}
	for j, ch := range results {
		i := j + 1
		err := <-ch
		got, rerr := h.ReadHeader(ctx, dkOf(i))
		if rerr != nil {
			t.Fatal(rerr)
		}
		if i == bad {
			if !errors.Is(err, errInjected) {
				t.Errorf("bad commit: %v, want %v", err, errInjected)
			}
			if got != nil {
				t.Errorf("bad commit left header %+v", got)
			}
			continue
		}
		if err != nil {
			t.Errorf("commit %d in the bad one's group: %v", i, err)
		}
		if got == nil {
			t.Errorf("commit %d in the bad one's group is missing", i)
		}
	}
}

// A commit whose context ends while it waits for the committer is never
// applied, and its caller does not wait for the committer.
func TestBoltCommitCanceledWhileQueued(t *testing.T) {
	h := openHeldBolt(t, nil)
	first := commitAsync(t.Context(), h, 0)
	h.group(t)
	ctx, cancel := context.WithCancel(t.Context())
	queued := commitAsync(ctx, h, 1)
	h.waitQueued(t, 1)
	cancel()
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled commit: %v, want context.Canceled", err)
	}
	close(h.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// A later commit proves the committer has moved past the canceled one.
	if err := <-commitAsync(t.Context(), h, 2); err != nil {
		t.Fatal(err)
	}
	if got, err := h.ReadHeader(t.Context(), dkOf(1)); err != nil || got != nil {
		t.Errorf("canceled commit left header %+v (err %v)", got, err)
	}
}

func TestBoltDetectsCorruption(t *testing.T) {
	path := filepath.Join(t.TempDir(), BoltFile)
	b, err := OpenBolt(path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	dk := dkOf(1)
	if err := b.Commit(ctx, dk, batchOf(1)); err != nil {
		t.Fatal(err)
	}
	err = b.db.Update(func(tx *bbolt.Tx) error {
		cb := tx.Bucket(bucketCores).Bucket(dk[:])
		if err := cb.Put(keyHeader, []byte{0xff, 0xff, 0xff}); err != nil {
			return err
		}
		return cb.Bucket(bucketNodes).Put(u64(0), []byte("short"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.ReadHeader(ctx, dk); !errors.Is(err, ErrCorrupt) {
		t.Errorf("ReadHeader of a garbled header: %v, want ErrCorrupt", err)
	}
	if _, err := b.ReadNodes(ctx, dk, []uint64{0}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("ReadNodes of a short node: %v, want ErrCorrupt", err)
	}
	if _, err := b.ReadBlocks(ctx, dk, 0, math.MaxUint64); err != nil {
		t.Errorf("ReadBlocks of intact blocks: %v", err)
	}

	// A file of another layout version is refused.
	err = b.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyVersion, u64(boltVersion+1)) })
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if b, err := OpenBolt(path, slog.New(slog.DiscardHandler)); !errors.Is(err, ErrCorrupt) {
		if err == nil {
			b.Close(ctx)
		}
		t.Errorf("OpenBolt of a newer layout: %v, want ErrCorrupt", err)
	}
}

// BenchmarkBoltGroupCommit measures commit throughput with 64 committers
// over 100 cores, each commit a small append (one block, one node, the
// header), and reports how many commits shared each fsync. For comparison,
// one-per-transaction stops the committer from grouping.
func BenchmarkBoltGroupCommit(b *testing.B) {
	b.Run("grouped", func(b *testing.B) { benchGroupCommit(b, 0) })
	b.Run("one-per-transaction", func(b *testing.B) { benchGroupCommit(b, 1) })
}

func benchGroupCommit(b *testing.B, limit int) {
	const (
		committers = 64
		cores      = 100
	)
	var groups atomic.Int64
	s, err := openBolt(filepath.Join(b.TempDir(), BoltFile), slog.New(slog.DiscardHandler),
		boltHooks{beforeGroup: func(int) { groups.Add(1) }, maxGroup: limit})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(context.Background())
	ctx := context.Background()
	value := make([]byte, 256)
	var next atomic.Int64
	var lengths [cores]atomic.Uint64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range committers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				c := int(i % cores)
				n := lengths[c].Add(1) - 1
				batch := &core.Batch{
					Header: &core.Header{Length: n + 1},
					Blocks: []core.Block{{Index: n, Value: value}},
					Nodes:  []core.Node{{Index: 2 * n, Size: uint64(len(value))}},
				}
				if err := s.Commit(ctx, dkOf(c), batch); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "commits/s")
	if g := groups.Load(); g > 0 {
		b.ReportMetric(float64(b.N)/float64(g), "commits/fsync")
	}
}
