package storage_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/plugins/storage"
	"github.com/corebridge/corebridge/plugins/storage/storagetest"
)

// watchLogs returns a logger that also signals on the returned channel
// every record whose message is msg.
func watchLogs(t testing.TB, msg string) (*slog.Logger, <-chan struct{}) {
	ch := make(chan struct{}, 16)
	next := testLogger(t).Handler()
	return slog.New(watchHandler{next, msg, ch}), ch
}

type watchHandler struct {
	slog.Handler
	msg string
	ch  chan struct{}
}

func (h watchHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h watchHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == h.msg {
		select {
		case h.ch <- struct{}{}:
		default:
		}
	}
	if h.Handler.Enabled(ctx, r.Level) {
		return h.Handler.Handle(ctx, r)
	}
	return nil
}

func (h watchHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return watchHandler{h.Handler.WithAttrs(as), h.msg, h.ch}
}

func (h watchHandler) WithGroup(g string) slog.Handler {
	return watchHandler{h.Handler.WithGroup(g), h.msg, h.ch}
}

// appendBatch is the n-th commit of core i in the fault test: block n and
// the header that says the core has n+1 blocks. Committing it twice writes
// the same, so a commit whose outcome was unknown can simply be retried.
func appendBatch(i int, n uint64) *core.Batch {
	return &core.Batch{
		Header: &core.Header{Length: n + 1, UserData: map[string][]byte{"core": []byte(fmt.Sprint(i))}},
		Blocks: []core.Block{{Index: n, Value: storagetest.Value(n, byte(i), 100)}},
		Nodes:  []core.Node{storagetest.Node(2*n, byte(i))},
	}
}

// TestPluginKilledDuringCommits kills the bolt plugin process with commits
// in flight. They fail fast with ErrUnavailable, the process comes back
// with a new pid, commits go on, and every commit that returned nil is in
// the bolt file afterwards.
func TestPluginKilledDuringCommits(t *testing.T) {
	const (
		cores      = 8
		before     = 3                // commits each core makes before the kill
		after      = 3                // and after it
		callBudget = 20 * time.Second // each call's deadline
	)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	logger, stalled := watchLogs(t, stallMsg)
	cmd := pluginsTestCommand("bolt-stall")
	s, err := storage.Open(ctx, storage.Spec{Name: "bolt-stall", Config: storage.Config{Dir: dir}, Command: &cmd}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pid := s.Pid()

	// Committers: core i commits appendBatch(i, 0), (i, 1), ... and retries
	// a batch until it is acknowledged.
	var (
		mu             sync.Mutex
		acked          [cores]uint64 // batches acknowledged per core
		killed         bool
		ackedAfterKill [cores]uint64
		progress       = make(chan struct{}, 1)
		stop           = make(chan struct{})
		errs           = make(chan error, cores)
		unavail        = make(chan struct{}, 1024)
		wg             sync.WaitGroup
	)
	for i := range cores {
		st, err := s.OpenCore(ctx, storagetest.DK(i))
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for n := uint64(0); ; {
				cctx, ccancel := context.WithTimeout(ctx, callBudget)
				err := st.Commit(cctx, appendBatch(i, n))
				ccancel()
				switch {
				case err == nil:
					n++
					mu.Lock()
					acked[i] = n
					if killed {
						ackedAfterKill[i]++
					}
					mu.Unlock()
					select {
					case progress <- struct{}{}:
					default:
					}
					select {
					case <-stop:
						return
					default:
					}
				case errors.Is(err, storage.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded):
					unavail <- struct{}{}
				default:
					errs <- fmt.Errorf("core %d commit %d: %w", i, n, err)
					return
				}
			}
		})
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for {
			mu.Lock()
			ok := cond()
			mu.Unlock()
			if ok {
				return
			}
			select {
			case <-progress:
			case err := <-errs:
				t.Fatal(err)
			case <-ctx.Done():
				t.Fatalf("waiting for %s: %v", what, ctx.Err())
			}
		}
	}
	everyCore := func(counts *[cores]uint64, min uint64) func() bool {
		return func() bool {
			for _, c := range counts {
				if c < min {
					return false
				}
			}
			return true
		}
	}
	waitFor("commits before the kill", everyCore(&acked, before))

	// One commit that the plugin holds until its context ends: it is
	// certainly in flight when the process dies.
	stallErr := make(chan error, 1)
	go func() {
		st, err := s.OpenCore(ctx, stallCore)
		if err == nil {
			cctx, ccancel := context.WithTimeout(ctx, callBudget)
			defer ccancel()
			err = st.Commit(cctx, appendBatch(-1, 0))
		}
		stallErr <- err
	}()
	select {
	case <-stalled:
	case <-ctx.Done():
		t.Fatalf("the stalled commit never reached the plugin: %v", ctx.Err())
	}

	mu.Lock()
	killed = true
	mu.Unlock()
	killedAt := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}

	err = <-stallErr
	if !errors.Is(err, storage.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("commit in flight when the plugin died: %v; want ErrUnavailable before its deadline", err)
	}
	t.Logf("in-flight commit failed %v after the kill: %v", time.Since(killedAt).Round(time.Millisecond), err)

	waitFor("commits after the restart", everyCore(&ackedAfterKill, after))
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if newPid := s.Pid(); newPid == 0 || newPid == pid {
		t.Errorf("pid after the restart = %d, want a new process (was %d)", newPid, pid)
	}
	t.Logf("%d commits failed with ErrUnavailable and were retried", len(unavail))

	// Everything acknowledged is there, through the restarted plugin and in
	// the bolt file itself.
	check := func(where string, read func(dk [32]byte) (*core.Header, []core.Block)) {
		t.Helper()
		for i := range cores {
			h, blocks := read(storagetest.DK(i))
			var want []core.Block
			for n := range acked[i] {
				want = append(want, appendBatch(i, n).Blocks...)
			}
			if h == nil || h.Length != acked[i] {
				t.Errorf("%s: core %d header %+v, want length %d", where, i, h, acked[i])
			}
			if diff := cmp.Diff(want, blocks); diff != "" {
				t.Errorf("%s: core %d blocks (-acknowledged +stored):\n%s", where, i, diff)
			}
		}
		if h, _ := read(stallCore); h != nil {
			t.Errorf("%s: the commit that failed left header %+v", where, h)
		}
	}
	check("restarted plugin", func(dk [32]byte) (*core.Header, []core.Block) {
		st, err := s.OpenCore(ctx, dk)
		if err != nil {
			t.Fatal(err)
		}
		h, err := st.ReadHeader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		blocks, err := st.ReadBlocks(ctx, 0, math.MaxUint64)
		if err != nil {
			t.Fatal(err)
		}
		return h, blocks
	})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	b, err := storage.OpenBolt(filepath.Join(dir, storage.BoltFile), logger)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	check("bolt file", func(dk [32]byte) (*core.Header, []core.Block) {
		h, err := b.ReadHeader(ctx, dk)
		if err != nil {
			t.Fatal(err)
		}
		blocks, err := b.ReadBlocks(ctx, dk, 0, math.MaxUint64)
		if err != nil {
			t.Fatal(err)
		}
		return h, blocks
	})
}
