package nats

import (
	"context"
	"errors"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/corebridge/corebridge/core"
)

// Reader side. A follower consumes its core's subject with an ordered
// consumer, from the message after the last one it applied (kept in the
// core's header, committed together with the blocks), so a restart fetches
// nothing twice. Messages that are already waiting are taken together and
// merged into runs: a run of contiguous messages is one core.Update checked
// with one signature, the last one, since it signs a tree that commits to
// every block before it. Only when a merged run fails does the follower
// check its signed pieces one by one, to keep the genuine ones and reject
// the rest.

// maxRunBytes bounds the values a follower merges into one update.
const maxRunBytes = 32 << 20

// pendingMsg is an opened message and its stream sequence.
type pendingMsg struct {
	m   *replMessage
	seq uint64
}

func (r *Replicator) followLoop(c *core.Core) {
	ctx, cancel := r.workCtx()
	defer cancel()
	closed := c.Closed()
	log := r.log.With("key", c.Key().String())
	in := make(chan jetstream.Msg, 1024)
	f := &follower{r: r, c: c, cipher: newReplCipher(c.Key()), log: log, mayResync: true}
	fromStart := false
	for attempt := 0; ctx.Err() == nil && !isClosed(c); attempt++ {
		cc, err := r.consume(ctx, c, in, fromStart)
		if err != nil {
			if isClosed(c) {
				return
			}
			log.Warn("replication: cannot follow the core; retrying", "err", err)
			if !sleepUntil(ctx, closed, retryDelay(attempt)) {
				return
			}
			continue
		}
		resync := f.run(ctx, in)
		cc.Stop()
		drain(in)
		if !resync {
			return
		}
		log.Warn("replication: missed messages; reading the core's subject again from the start")
		f.pending, f.mayResync, fromStart, attempt = nil, false, true, 0
	}
}

// consume starts an ordered consumer of the core's subject after the last
// applied message, delivering into in.
func (r *Replicator) consume(ctx context.Context, c *core.Core, in chan<- jetstream.Msg, fromStart bool) (jetstream.ConsumeContext, error) {
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{r.o.Subjects.Replication(c.DiscoveryKey())},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	}
	if v := c.Info().UserData[replSeqKey]; v != nil && !fromStart {
		if seq, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
			cfg.OptStartSeq = seq + 1
		}
	}
	cons, err := r.stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, err
	}
	closed := c.Closed()
	return cons.Consume(func(m jetstream.Msg) {
		select {
		case in <- m:
		case <-ctx.Done():
		case <-closed:
		}
	}, jetstream.PullMaxMessages(512))
}

func drain(in chan jetstream.Msg) {
	for {
		select {
		case <-in:
		default:
			return
		}
	}
}

// follower applies one core's messages.
type follower struct {
	r       *Replicator
	c       *core.Core
	cipher  *replCipher
	log     interface{ Warn(string, ...any) }
	pending []pendingMsg // opened, contiguous, not yet ending in a signature
	stopped bool         // onApplied asked to stop
	// mayResync allows one re-read from the start after a gap; it is set
	// again once a message applies, so a forged message that claims a far
	// start cannot make the follower re-read the subject forever.
	mayResync bool
}

// run applies messages until ctx ends or the core closes (false) or the
// follower finds itself behind a gap it can only close by reading the subject again from the
// start (true).
func (f *follower) run(ctx context.Context, in <-chan jetstream.Msg) (resync bool) {
	for {
		var batch []jetstream.Msg
		select {
		case m := <-in:
			batch = append(batch, m)
		case <-ctx.Done():
			return false
		case <-f.c.Closed():
			return false
		}
	more:
		for len(batch) < 4096 {
			select {
			case m := <-in:
				batch = append(batch, m)
			default:
				break more
			}
		}
		gap := f.apply(ctx, batch)
		if f.stopped {
			return false
		}
		if gap && f.mayResync {
			return true
		}
	}
}

// apply opens a batch of raw messages and applies them as merged runs. It
// reports a gap that needs a resync.
func (f *follower) apply(ctx context.Context, batch []jetstream.Msg) (gap bool) {
	for _, raw := range batch {
		if f.stopped {
			return false
		}
		var seq uint64
		if md, err := raw.Metadata(); err == nil {
			seq = md.Sequence.Stream
		}
		m, err := f.cipher.open(raw.Data())
		if err != nil {
			f.reject(seq, err)
			continue
		}
		p := pendingMsg{m: m, seq: seq}
		if n := len(f.pending); n > 0 {
			last := f.pending[n-1].m
			if m.Fork != last.Fork || m.Start != last.end() || f.pendingBytes() > maxRunBytes {
				if f.flush(ctx) {
					gap = true
				}
				f.pending = f.pending[:0]
			}
		}
		f.pending = append(f.pending, p)
	}
	if f.flush(ctx) {
		gap = true
	}
	return gap
}

func (f *follower) pendingBytes() (n int) {
	for _, p := range f.pending {
		for _, v := range p.m.Values {
			n += len(v)
		}
	}
	return n
}

// flush applies the pending run up to its last signed message, keeping an
// unsigned tail for later. It reports a gap.
func (f *follower) flush(ctx context.Context) (gap bool) {
	last := -1
	for i, p := range f.pending {
		if p.m.Signature != nil {
			last = i
		}
	}
	if last < 0 || f.stopped {
		return false
	}
	run := f.pending[:last+1]
	tail := append([]pendingMsg(nil), f.pending[last+1:]...)
	err := f.update(ctx, run)
	if err != nil && !errors.Is(err, core.ErrStaleUpdate) && len(run) > 1 {
		// Something in the merged run is bad: try its signed pieces alone,
		// and a signed message without the unsigned chunks before it,
		// which may be junk sealed by someone else who holds the core key.
		whole := err
		begin := 0
		for i, p := range run {
			if p.m.Signature == nil {
				continue
			}
			piece, e := run[begin:i+1], whole
			if len(piece) < len(run) {
				e = f.update(ctx, piece)
			}
			if e != nil && !errors.Is(e, core.ErrStaleUpdate) && len(piece) > 1 && p.m.Start <= f.c.Length() {
				e = f.update(ctx, piece[len(piece)-1:])
			}
			if e != nil && f.isGap(e) {
				gap = true
			}
			begin = i + 1
		}
	} else if err != nil && f.isGap(err) {
		gap = true
	}
	f.pending = tail
	return gap
}

// update applies a contiguous run ending in a signed message, and counts.
func (f *follower) update(ctx context.Context, run []pendingMsg) error {
	end := run[len(run)-1]
	u := &core.Update{
		Fork: run[0].m.Fork, Start: run[0].m.Start, Signature: end.m.Signature,
		UserData: map[string][]byte{replSeqKey: []byte(strconv.FormatUint(end.seq, 10))},
	}
	for _, p := range run {
		u.Values = append(u.Values, p.m.Values...)
	}
	if end.m.Encoding != "" {
		u.UserData[UserDataEncoding] = []byte(end.m.Encoding)
	}
	if end.m.Manifest != nil {
		m, err := core.DecodeManifest(end.m.Manifest)
		if err != nil {
			f.reject(end.seq, err)
			return err
		}
		u.Manifest = m
	}
	_, err := f.c.ApplyUpdate(ctx, u)
	switch {
	case err == nil:
		f.r.applied.Add(uint64(len(run)))
		f.mayResync = true
		if h := f.r.onApplied; h != nil && !h(f.c.Length()) {
			f.stopped = true
		}
	case errors.Is(err, core.ErrStaleUpdate):
		f.r.stale.Add(uint64(len(run)))
	case ctx.Err() != nil, errors.Is(err, core.ErrClosed):
		// Stopping, or the core closed under the follower: nothing wrong
		// with the messages.
	default:
		for _, p := range run {
			f.reject(p.seq, err)
		}
	}
	return err
}

// isGap reports an update that starts past the local length: the follower
// missed messages and must read the subject again.
func (f *follower) isGap(err error) bool {
	return errors.Is(err, core.ErrInvalidProof) && !errors.Is(err, core.ErrInvalidSignature)
}

func (f *follower) reject(seq uint64, err error) {
	f.r.rejected.Add(1)
	f.log.Warn("replication: message rejected", "seq", seq, "err", err)
}
