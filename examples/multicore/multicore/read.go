package multicore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// DefaultWait is how long one waiting block request of the reader waits
// on the bridge; the reader asks again when it expires.
const DefaultWait = 30 * time.Second

// A ReadOption changes how [Read] reads.
type ReadOption func(*readOptions)

type readOptions struct {
	wait time.Duration
}

// WithWait sets how long each waiting block request waits on the bridge
// before the reader asks again (default [DefaultWait]; a bridge allows at
// most 10 minutes). A bridge that is asked to stop waits for the requests
// it holds, so a short wait lets it stop sooner.
func WithWait(d time.Duration) ReadOption {
	return func(o *readOptions) { o.wait = d }
}

// Read asks store's bridge to follow core-1 by key, waits for its block 0,
// asks the bridge to follow the two cores it names (core-2 and core-3, in
// that order), and prints every block of both to out as it arrives, one
// line each ("core-2 #0: hello"), from index 0, each core in order and with
// no gaps. Blocks that are JSON strings are printed as their text.
//
// Each block request waits on the bridge for [DefaultWait] (see
// [WithWait]) and is sent again when that expires. Read returns nil once it
// has printed limit blocks (limit <= 0: never), ctx's error when ctx ends,
// and otherwise the first error of either core. Writes to out come from one
// goroutine at a time.
func Read(ctx context.Context, nc *nats.Conn, store, core1Key string, out io.Writer, limit int, opts ...ReadOption) error {
	o := readOptions{wait: DefaultWait}
	for _, opt := range opts {
		opt(&o)
	}
	if o.wait < time.Second {
		return fmt.Errorf("wait %s is too short; use at least a second", o.wait)
	}
	if _, err := getCore(ctx, nc, store, "", core1Key); err != nil {
		return err
	}
	v, err := waitBlock(ctx, nc, core1Key, 0, o.wait)
	if err != nil {
		return fmt.Errorf("%s %s: %w", Core1, core1Key, err)
	}
	var idx index
	if err := json.Unmarshal(v, &idx); err != nil || len(idx.OtherKeys) != 2 {
		return fmt.Errorf("%s %s: block 0 is not {\"otherKeys\": [<core-2 key>, <core-3 key>]} but %.200s", Core1, core1Key, v)
	}
	names := []string{Core2, Core3}
	for i, key := range idx.OtherKeys {
		if _, err := getCore(ctx, nc, store, "", key); err != nil {
			return fmt.Errorf("%s (named in %s): %w", names[i], Core1, err)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := &printer{out: out, limit: limit, full: cancel}
	errs := make(chan error, len(names))
	for i, key := range idx.OtherKeys {
		go func() { errs <- tail(ctx, nc, names[i], key, p, o.wait) }()
	}
	var first error
	for range names {
		if err := <-errs; err != nil && first == nil && !p.isFull() {
			first = err
			cancel() // stop the other core too
		}
	}
	if p.isFull() {
		return nil
	}
	return first
}

// tail prints the blocks of one core, from 0, until ctx ends or p is full.
func tail(ctx context.Context, nc *nats.Conn, name, key string, p *printer, wait time.Duration) error {
	for i := uint64(0); ; i++ {
		v, err := waitBlock(ctx, nc, key, i, wait)
		if err != nil {
			return fmt.Errorf("%s %s: %w", name, key, err)
		}
		if err := p.print(name, i, v); err != nil {
			return err
		}
	}
}

// waitBlock returns block i of a core, waiting for it as long as ctx
// allows: a request that waits on the bridge for at most wait, and sent
// again when that expires.
func waitBlock(ctx context.Context, nc *nats.Conn, key string, i uint64, wait time.Duration) ([]byte, error) {
	body := fmt.Appendf(nil, `{"index": %d, "wait": true, "timeout": %q}`, i, wait.String())
	subject := coreSubject(key, "block")
	for {
		sent := time.Now()
		m, err := request(ctx, nc, subject, body, wait+requestTimeout)
		var e *Error
		switch {
		case err == nil:
			if got := m.Header.Get(headerIndex); got != strconv.FormatUint(i, 10) {
				return nil, fmt.Errorf("asked for block %d, got a reply with %s %q", i, headerIndex, got)
			}
			return m.Data, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.As(err, &e) && e.Code == 404 && time.Since(sent) >= wait/2:
			// The block did not arrive while the bridge waited: ask again.
			// (A 404 that comes back at once is a real error.)
		case errors.Is(err, nats.ErrTimeout):
			// The reply was lost, or the bridge is busy: ask again.
		default:
			return nil, fmt.Errorf("block %d: %w", i, err)
		}
	}
}

// printer writes blocks to out, one at a time, and calls full once it has
// written limit of them.
type printer struct {
	out   io.Writer
	limit int
	full  func()

	mu sync.Mutex
	n  int
}

// errFull stops a core's loop once the printer has printed all it should.
var errFull = errors.New("printed as many blocks as asked")

func (p *printer) print(name string, i uint64, v []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.limit > 0 && p.n >= p.limit {
		return errFull
	}
	text := string(v)
	var s string
	if json.Unmarshal(v, &s) == nil {
		text = s
	}
	if _, err := fmt.Fprintf(p.out, "%s #%d: %s\n", name, i, text); err != nil {
		return fmt.Errorf("print %s #%d: %w", name, i, err)
	}
	p.n++
	if p.limit > 0 && p.n == p.limit {
		p.full()
	}
	return nil
}

func (p *printer) isFull() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limit > 0 && p.n >= p.limit
}
