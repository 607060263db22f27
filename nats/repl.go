package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/corebridge/corebridge/core"
)

// Replication through JetStream: every core this bridge writes is published
// to one stream, a subject per core (hc.repl.<discovery key>); every core
// this bridge follows by key is read back from there, verified against its
// key and applied. Nobody in between is trusted: a message is sealed with a
// key derived from the core key and carries the writer's signature, and a
// reader stores nothing it has not verified.

// ReplicatorOptions configure a Replicator.
type ReplicatorOptions struct {
	JetStream jetstream.JetStream
	Stream    jetstream.StreamConfig // created or updated at start
	Subjects  Subjects
	// MaxMessage bounds a message's payload; longer runs are chunked.
	MaxMessage int
	Logger     *slog.Logger
}

// ReplicationStats counts what readers did with replication messages.
type ReplicationStats struct {
	Published uint64 // messages this bridge published
	Applied   uint64 // messages applied to a reader core
	Stale     uint64 // messages a reader already had (replays, duplicates)
	Rejected  uint64 // messages that failed to open or verify: forgeries or damage
}

// Replicator publishes the cores this bridge writes and follows the cores
// it reads. A follower is a goroutine per core, for as long as the core is
// open; a publisher is one only while it has something to publish (see
// writer). Stop ends them all.
type Replicator struct {
	o      ReplicatorOptions
	log    *slog.Logger
	stream jetstream.Stream
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// mu guards following. A publisher restarts holding it for reading
	// and only while ctx is live, and Stop cancels ctx holding it for
	// writing: no run is added to wg once Stop waits.
	mu        sync.RWMutex
	following map[core.Key]bool

	publishers atomic.Int64 // publisher runs under way; idle cores have none

	published, applied, stale, rejected atomic.Uint64

	// onApplied, when set before Follow, is called after each update a
	// follower applies; returning false stops that follower, as if its
	// process had died right after the commit. Tests use it.
	onApplied func(length uint64) bool
}

// replSeqKey is the header user-data entry where a reader keeps the stream
// sequence of the last message it applied, committed with the blocks.
const replSeqKey = "corebridge/repl-seq"

// NewReplicator makes sure the stream exists.
func NewReplicator(ctx context.Context, o ReplicatorOptions) (*Replicator, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = 1 << 20
	}
	// In a cluster several bridges may create the stream at once, and the
	// meta leader may still be settling: try with short attempts.
	var st jetstream.Stream
	var err error
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err = o.JetStream.CreateOrUpdateStream(actx, o.Stream)
		cancel()
		if err == nil {
			break
		}
		o.Logger.Warn("replication stream not ready; retrying", "stream", o.Stream.Name, "err", err)
		if !sleepCtx(ctx, retryDelay(attempt)) {
			return nil, fmt.Errorf("replication stream %s: %w", o.Stream.Name, err)
		}
	}
	r := &Replicator{o: o, log: o.Logger, stream: st, following: map[core.Key]bool{}}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r, nil
}

// Follow starts replicating c: publishing it when this bridge writes it,
// following it otherwise. A second call for the same core does nothing.
func (r *Replicator) Follow(ctx context.Context, c *core.Core) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil {
		return errors.New("replicator stopped")
	}
	if r.following[c.Key()] {
		return nil
	}
	r.following[c.Key()] = true
	r.wg.Add(1)
	if c.Writable() {
		go r.newWriter(c).run()
		return nil
	}
	go func() {
		defer r.wg.Done()
		r.followLoop(c)
	}()
	return nil
}

// Stats returns the counters.
func (r *Replicator) Stats() ReplicationStats {
	return ReplicationStats{
		Published: r.published.Load(), Applied: r.applied.Load(),
		Stale: r.stale.Load(), Rejected: r.rejected.Load(),
	}
}

// Stop ends every publisher and follower and waits for them. A publisher
// that is idle has no goroutine to end; its wake-up, still registered with
// the core, finds the replicator stopped and starts nothing.
func (r *Replicator) Stop() {
	r.mu.Lock()
	r.cancel()
	r.mu.Unlock()
	r.wg.Wait()
}

// workCtx returns the context a publisher or follower of c works under:
// it ends when the replicator stops, or when the loop returns and cancels
// it. It costs no goroutine; the loops see c close by selecting on
// c.Closed() wherever they wait, and by the ErrClosed of the core calls. A
// NATS call in flight when c closes is not cut short: it ends by its own
// timeout, or at once when the replicator stops.
func (r *Replicator) workCtx() (context.Context, context.CancelFunc) {
	return context.WithCancel(r.ctx)
}

// isClosed reports whether c's last session has closed.
func isClosed(c *core.Core) bool {
	select {
	case <-c.Closed():
		return true
	default:
		return false
	}
}

// retryDelay is the backoff between failed publish or consume attempts.
func retryDelay(attempt int) time.Duration {
	d := 50 * time.Millisecond << min(attempt, 6)
	return min(d, 3*time.Second)
}

// sleepCtx waits d or until ctx ends; it reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	return sleepUntil(ctx, nil, d)
}

// sleepUntil waits d, or until ctx ends or closed is closed; it reports
// whether it waited the whole d. A nil closed never closes.
func sleepUntil(ctx context.Context, closed <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-closed:
		return false
	}
}
