package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-plugin"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/plugins/storage"
	"github.com/corebridge/corebridge/plugins/storage/storagetest"
)

// failing is a Backend whose every call fails with err.
type failing struct {
	storage.Backend
	err error
}

func (f failing) ReadHeader(context.Context, [32]byte) (*core.Header, error) { return nil, f.err }
func (f failing) Commit(context.Context, [32]byte, *core.Batch) error        { return f.err }

func TestSentinelsCrossTheBoundary(t *testing.T) {
	for _, sentinel := range []error{
		storage.ErrClosed,
		storage.ErrInvalidBatch,
		storage.ErrCorrupt,
		storage.ErrUnavailable,
		context.Canceled,
		context.DeadlineExceeded,
	} {
		t.Run(sentinel.Error(), func(t *testing.T) {
			sent := fmt.Errorf("core 1234: %w", sentinel)
			b := overGRPC(t, failing{storage.NewMemory(), sent})
			_, err := b.ReadHeader(t.Context(), storagetest.DK(1))
			if !errors.Is(err, sentinel) {
				t.Errorf("ReadHeader error %v does not match %v", err, sentinel)
			}
			if !strings.Contains(fmt.Sprint(err), sent.Error()) {
				t.Errorf("ReadHeader error %q lost the plugin's message %q", err, sent)
			}
			if err := b.Commit(t.Context(), storagetest.DK(1), &core.Batch{}); !errors.Is(err, sentinel) {
				t.Errorf("Commit error %v does not match %v", err, sentinel)
			}
		})
	}
	t.Run("other", func(t *testing.T) {
		b := overGRPC(t, failing{storage.NewMemory(), errors.New("disk on fire")})
		_, err := b.ReadHeader(t.Context(), storagetest.DK(1))
		if err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Errorf("ReadHeader error %v, want the plugin's message", err)
		}
		for _, s := range []error{storage.ErrClosed, storage.ErrInvalidBatch, storage.ErrCorrupt, storage.ErrUnavailable} {
			if errors.Is(err, s) {
				t.Errorf("ReadHeader error %v matches %v", err, s)
			}
		}
	})
}

// stalling holds each Commit until its context ends, then either gives up
// (applying nothing) or applies the batch all the same, as a backend does
// when the batch is already in a transaction.
type stalling struct {
	storage.Backend
	applyAnyway bool
	entered     chan struct{}
}

func (s *stalling) Commit(ctx context.Context, dk [32]byte, b *core.Batch) error {
	s.entered <- struct{}{}
	<-ctx.Done()
	if s.applyAnyway {
		return s.Backend.Commit(context.WithoutCancel(ctx), dk, b)
	}
	return ctx.Err()
}

// A caller who gives up on a Commit whose batch reached the plugin learns
// what the plugin did: an error only when nothing was applied.
func TestCommitGivenUpAfterSending(t *testing.T) {
	for _, applyAnyway := range []bool{false, true} {
		t.Run(fmt.Sprintf("applyAnyway=%v", applyAnyway), func(t *testing.T) {
			mem := storage.NewMemory()
			impl := &stalling{Backend: mem, applyAnyway: applyAnyway, entered: make(chan struct{})}
			b := overGRPC(t, impl)
			ctx, cancel := context.WithCancel(t.Context())
			batch := &core.Batch{Header: &core.Header{Length: 1}, Blocks: []core.Block{{Index: 0, Value: []byte("v")}}}
			done := make(chan error, 1)
			go func() { done <- b.Commit(ctx, storagetest.DK(1), batch) }()
			<-impl.entered
			cancel()
			err := <-done

			h, rerr := mem.ReadHeader(t.Context(), storagetest.DK(1))
			if rerr != nil {
				t.Fatal(rerr)
			}
			if applyAnyway {
				if err != nil {
					t.Errorf("Commit = %v, but the plugin applied the batch", err)
				}
				if diff := cmp.Diff(batch.Header, h); diff != "" {
					t.Errorf("header (-committed +stored):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Commit = %v, want an error matching context.Canceled", err)
			}
			if h != nil {
				t.Errorf("the plugin stored header %+v of a commit that failed", h)
			}
		})
	}
}

// A host talking to a plugin built before ReadBlocksSmall falls back to
// streamed reads after the first refusal, and everything still works.
func TestPluginWithoutSmallCalls(t *testing.T) {
	var refused atomic.Int32
	client, _ := plugin.TestPluginGRPCConn(t, false, plugin.PluginSet{
		storage.PluginName: &storage.OldPlugin{Plugin: storage.Plugin{Impl: storage.NewMemory()}, Refused: func() { refused.Add(1) }},
	})
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(storage.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	b := raw.(storage.Backend)
	for i := range uint64(3) {
		batch := &core.Batch{Header: &core.Header{Length: i + 1}, Blocks: []core.Block{{Index: i, Value: []byte{byte(i)}}}}
		if err := b.Commit(t.Context(), storagetest.DK(1), batch); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		got, err := b.ReadBlocks(t.Context(), storagetest.DK(1), 0, i+1)
		if err != nil || len(got) != int(i+1) || got[i].Value[0] != byte(i) {
			t.Fatalf("read after commit %d: %v, %v", i, got, err)
		}
	}
	if n := refused.Load(); n != 1 {
		t.Errorf("the old plugin refused %d small reads, want 1 (then the host streams)", n)
	}
}

// A small read stops at what fits in one message and the rest streams: the
// result is the same as the backend's own.
func TestSmallReadOfLargeBlocks(t *testing.T) {
	mem := storage.NewMemory()
	b := overGRPC(t, mem)
	batch := &core.Batch{Header: &core.Header{Length: 7}}
	for i := range uint64(7) {
		if i == 3 {
			continue // absent
		}
		v := bytes.Repeat([]byte{byte(i)}, 300<<10*int(i)) // 0 (present, empty) to 1.8 MiB
		batch.Blocks = append(batch.Blocks, core.Block{Index: i, Value: v})
	}
	if err := b.Commit(t.Context(), storagetest.DK(1), batch); err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]uint64{{0, 7}, {0, 1}, {1, 3}, {2, 6}, {5, 7}, {3, 4}, {6, 9}} {
		want, err := mem.ReadBlocks(t.Context(), storagetest.DK(1), r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.ReadBlocks(t.Context(), storagetest.DK(1), r[0], r[1])
		if err != nil {
			t.Fatalf("ReadBlocks%v: %v", r, err)
		}
		if len(got) != len(want) {
			t.Fatalf("ReadBlocks%v over gRPC returned %d blocks, the backend %d", r, len(got), len(want))
		}
		for i := range want {
			if got[i].Index != want[i].Index || !bytes.Equal(got[i].Value, want[i].Value) || (got[i].Value == nil) != (want[i].Value == nil) {
				t.Errorf("ReadBlocks%v: block %d over gRPC is #%d of %d bytes, the backend's #%d of %d", r, i, got[i].Index, len(got[i].Value), want[i].Index, len(want[i].Value))
			}
		}
	}
}
