package nats

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corebridge/corebridge/core"
)

// A core published from the start goes out a window of blocks at a time,
// in chunks no larger than a message, signed only at the end: the stream
// then holds every block once, in order, and what it holds verifies
// against the core key as one update.
func TestPublishInWindows(t *testing.T) {
	defer func(most, size uint64) {
		publishWindowMax, publishWindowBytes = most, size
	}(publishWindowMax, publishWindowBytes)
	publishWindowMax, publishWindowBytes = 11, 8000

	h := newReplHarness(t)
	h.opts.MaxMessage = 4096
	r := h.start(t)
	st := &rangeRecorder{Storage: core.NewMemoryStorage()}
	kp := core.KeyPairFromSeed([32]byte{7, 0xd2})
	c, err := core.Open(t.Context(), st, core.Options{KeyPair: &kp})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var want [][]byte
	for i := range 200 {
		want = append(want, bytes.Repeat([]byte{byte(i)}, 1+(i*37)%3000))
	}
	if _, err := c.Append(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	if err := r.Follow(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "publish", func() error { return h.streamHolds(c) })
	if n := st.widest.Load(); n > publishWindowMax {
		t.Errorf("the publisher read %d blocks at once; windows are at most %d", n, publishWindowMax)
	}

	info, err := h.stream.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cipher := newReplCipher(c.Key())
	var got [][]byte
	var last *replMessage
	for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
		raw, err := h.stream.GetMsg(t.Context(), seq)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		m, err := cipher.open(raw.Data)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		if m.Start != uint64(len(got)) {
			t.Fatalf("message %d starts at %d, after %d blocks", seq, m.Start, len(got))
		}
		if m.Signature != nil && seq != info.State.LastSeq {
			t.Errorf("message %d of %d is signed; only the last should be", seq, info.State.LastSeq)
		}
		size := 0
		for _, v := range m.Values {
			size += len(v) + 9
		}
		if len(m.Values) > 1 && size > h.opts.MaxMessage {
			t.Errorf("message %d carries %d bytes of values, over %d", seq, size, h.opts.MaxMessage)
		}
		got = append(got, m.Values...)
		last = m
	}
	if len(got) != len(want) {
		t.Fatalf("the stream holds %d blocks, the core %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("block %d differs", i)
		}
	}
	if n := info.State.Msgs; n < 200/11 {
		t.Errorf("%d messages for 200 blocks in windows of at most 11", n)
	}

	// What the stream holds is one verifiable update of a reader.
	key := c.Key()
	reader, err := core.Open(t.Context(), core.NewMemoryStorage(), core.Options{Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	m, err := core.DecodeManifest(last.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reader.ApplyUpdate(t.Context(), &core.Update{Fork: last.Fork, Values: got, Signature: last.Signature, Manifest: m}); err != nil {
		t.Fatalf("the stream's blocks do not verify: %v", err)
	}
	if reader.Length() != uint64(len(want)) {
		t.Fatalf("reader length %d, want %d", reader.Length(), len(want))
	}
}

// rangeRecorder is a core's storage that remembers the widest block read.
type rangeRecorder struct {
	core.Storage
	widest atomic.Uint64
}

func (s *rangeRecorder) ReadBlocks(ctx context.Context, start, end uint64) ([]core.Block, error) {
	for {
		w := s.widest.Load()
		if end-start <= w || s.widest.CompareAndSwap(w, end-start) {
			break
		}
	}
	return s.Storage.ReadBlocks(ctx, start, end)
}
