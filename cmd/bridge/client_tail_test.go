package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	natsgo "github.com/nats-io/nats.go"

	"github.com/corebridge/corebridge/nats"
)

// fakeCore is the core a tailer reads in tests: blocks are "b<i>" and
// events carry "e<i>", so the output shows where each value came from.
type fakeCore struct {
	lengths []uint64 // what successive length requests answer; the last repeats
	blocks  uint64   // how many blocks a block request finds
}

func (f *fakeCore) tailer(events <-chan *natsgo.Msg, lost <-chan struct{}, out *[]string) *tailer {
	return &tailer{
		length: func(context.Context) (uint64, error) {
			n := f.lengths[0]
			if len(f.lengths) > 1 {
				f.lengths = f.lengths[1:]
			}
			return n, nil
		},
		block: func(_ context.Context, i uint64) ([]byte, error) {
			if i >= f.blocks {
				return nil, fmt.Errorf("block %d does not exist yet", i)
			}
			return fmt.Appendf(nil, "b%d", i), nil
		},
		events: events, lost: lost, useEventData: true,
		print: func(v []byte) error { *out = append(*out, string(v)); return nil },
	}
}

func appendedEvent(index string) *natsgo.Msg {
	m := natsgo.NewMsg("core.x.appended")
	m.Header.Set(nats.HeaderIndex, index)
	m.Data = []byte("e" + index)
	return m
}

// TestTailer feeds a tailer events that are all waiting when it starts;
// "lost" stands for NATS dropping events. Where a loss and an event are
// both waiting, either may be taken first, and the output must not differ.
func TestTailer(t *testing.T) {
	tests := []struct {
		name        string
		lengths     []uint64
		blocks      uint64
		from        uint64
		count       int
		events      []string
		otherFormat bool
		want        string
	}{
		{name: "catch up then follow", lengths: []uint64{2}, blocks: 5, count: 4, events: []string{"2", "3", "4"},
			want: "b0 b1 e2 e3"},
		{name: "events of blocks the catch-up printed", lengths: []uint64{3}, blocks: 5, count: 4, events: []string{"1", "2", "3", "4"},
			want: "b0 b1 b2 e3"},
		{name: "a gap is read", lengths: []uint64{1}, blocks: 9, count: 6, events: []string{"1", "4", "6", "5"},
			want: "b0 e1 b2 b3 e4 b5"},
		{name: "late events", lengths: []uint64{1}, blocks: 9, count: 4, events: []string{"3", "1", "2", "4"},
			want: "b0 b1 b2 e3"},
		{name: "start past the end", lengths: []uint64{2}, blocks: 9, from: 4, count: 2, events: []string{"2", "3", "4", "5"},
			want: "e4 e5"},
		{name: "count reached in the catch-up", lengths: []uint64{9}, blocks: 9, from: 3, count: 2,
			want: "b3 b4"},
		{name: "other formats read blocks", lengths: []uint64{1}, blocks: 3, count: 3, events: []string{"1", "2"}, otherFormat: true,
			want: "b0 b1 b2"},
		{name: "dropped events", lengths: []uint64{1, 3}, blocks: 4, count: 4, events: []string{"lost", "3"},
			want: "b0 b1 b2 e3"},
		{name: "an event without an index", lengths: []uint64{1, 3}, blocks: 3, count: 3, events: []string{"x", "2"},
			want: "b0 b1 b2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := make(chan *natsgo.Msg, len(tt.events))
			lost := make(chan struct{}, 1)
			for _, e := range tt.events {
				if e == "lost" {
					lost <- struct{}{}
				} else {
					events <- appendedEvent(e)
				}
			}
			var out []string
			tl := (&fakeCore{lengths: tt.lengths, blocks: tt.blocks}).tailer(events, lost, &out)
			tl.useEventData = !tt.otherFormat
			if err := tl.run(t.Context(), tt.from, tt.count); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(out, " "); got != tt.want {
				t.Errorf("printed %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTailerStops(t *testing.T) {
	// An interrupt ends tail without an error.
	ctx, cancel := context.WithCancel(t.Context())
	var out []string
	tl := (&fakeCore{lengths: []uint64{1}, blocks: 1}).tailer(nil, nil, &out)
	tl.print = func(v []byte) error { out = append(out, string(v)); cancel(); return nil }
	if err := tl.run(ctx, 0, 0); err != nil {
		t.Errorf("interrupted tail: %v, want nil", err)
	}
	if strings.Join(out, " ") != "b0" {
		t.Errorf("printed %v", out)
	}

	// A block that cannot be read ends tail with the error.
	err := (&fakeCore{lengths: []uint64{3}, blocks: 1}).tailer(nil, nil, &out).run(t.Context(), 0, 0)
	if err == nil || !strings.Contains(err.Error(), "block 1") {
		t.Errorf("tail over a missing block: %v", err)
	}

	// So does an output that fails.
	tl = (&fakeCore{lengths: []uint64{3}, blocks: 3}).tailer(nil, nil, &out)
	broken := errors.New("broken pipe")
	tl.print = func([]byte) error { return broken }
	if err := tl.run(t.Context(), 0, 0); !errors.Is(err, broken) {
		t.Errorf("tail with a broken output: %v", err)
	}

	// And the end of the subscription.
	closed := make(chan *natsgo.Msg)
	close(closed)
	err = (&fakeCore{lengths: []uint64{0}}).tailer(closed, nil, &out).run(t.Context(), 0, 0)
	if err == nil || !strings.Contains(err.Error(), "subscription") {
		t.Errorf("tail after its subscription ended: %v", err)
	}
}
