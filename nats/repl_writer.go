package nats

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/corebridge/corebridge/core"
)

// published is where the stream stands for one core: the fork and length
// its last message ends at, and that message's stream sequence.
type published struct {
	fork, length uint64
	seq          uint64
}

// writer is the replication publisher of one writable core. It runs as a
// goroutine only while it has work: once the stream holds everything the
// core has committed, it hands its wake-up to the core (AfterChange) and
// ends, so an idle writable core costs this small struct, not a goroutine
// stack. The next append, truncate or close starts it again.
//
// At most one run of a writer is under way at a time: a run ends only after
// registering the wake-up, and goes on only if it takes that back (stop
// reports true), so either the run or the callback it registered carries
// on, never both. The fields are the run's own; the core's lock orders one
// run before the next.
type writer struct {
	r      *Replicator
	c      *core.Core
	pub    published // where the stream stands for this core
	synced bool      // pub has been read from the stream since Follow
	wake   func()    // w.restart, made once so that going idle allocates less
}

func (r *Replicator) newWriter(c *core.Core) *writer {
	w := &writer{r: r, c: c}
	w.wake = w.restart
	return w
}

// restart is the writer's AfterChange callback: the core changed or
// closed. It runs the writer in the callback's goroutine, unless the core
// has closed or the replicator stops; Stop then waits for it like for any
// other run.
func (w *writer) restart() {
	r := w.r
	if isClosed(w.c) {
		return
	}
	r.mu.RLock()
	if r.ctx.Err() != nil {
		r.mu.RUnlock()
		return
	}
	r.wg.Add(1)
	r.mu.RUnlock()
	w.run()
}

// run publishes w's core until the stream holds all it has committed, the
// core closes or the replicator stops. Callers have counted it in r.wg.
//
// It watches the core rather than being told of each batch, so whatever
// committed while it was busy (or before a crash) goes out in one message,
// signed once at the core's current state.
func (w *writer) run() {
	r, c := w.r, w.c
	defer r.wg.Done()
	r.publishers.Add(1)
	defer r.publishers.Add(-1)
	// The replicator's own context, not one derived per core: a cancelCtx
	// child and a logger with the key preformatted cost about 1 KB per
	// writable core, and an idle publisher needs neither. The subject and
	// the cipher are made again for each busy spell rather than kept
	// between them, for the same reason.
	ctx := r.ctx
	closed := c.Closed()
	key := c.Key()
	subj := r.o.Subjects.Replication(c.DiscoveryKey())
	cipher := newReplCipher(key)
	warn := func(msg string, args ...any) {
		r.log.Warn(msg, append([]any{"key", key.String()}, args...)...)
	}

	// The first run after Follow learns where the stream stands, so that
	// whatever committed before a crash or a restart is published.
	for attempt := 0; !w.synced; attempt++ {
		var err error
		if w.pub, err = r.lastPublished(ctx, c, subj, cipher); err == nil {
			w.synced = true
			break
		}
		if isClosed(c) {
			return
		}
		warn("replication: cannot read the stream's position for this core; retrying", "err", err)
		if !sleepUntil(ctx, closed, retryDelay(attempt)) {
			return
		}
	}
	attempt := 0
	for {
		changed := c.Changed()
		info := c.Info()
		if info.Fork == w.pub.fork && info.Length == w.pub.length || info.Signature == nil {
			if ctx.Err() != nil || isClosed(c) {
				return
			}
			// Nothing to publish: let the next change start a run, and end
			// this one. A change since info was read has closed changed
			// but will not call wake: take the wake-up back and look again.
			// If it already started, that run publishes the change.
			stop := c.AfterChange(w.wake)
			select {
			case <-changed:
				if stop() {
					continue
				}
			default:
			}
			return
		}
		next, err := r.publishState(ctx, c, subj, cipher, w.pub, info)
		switch {
		case err == nil:
			w.pub, attempt = next, 0
			continue
		case ctx.Err() != nil, errors.Is(err, core.ErrClosed), isClosed(c):
			return // the replicator or the core is closing
		case errors.Is(err, errStateMoved):
			continue // the core changed while reading it: start over
		case isWrongLastSequence(err):
			warn("replication: the stream holds messages this bridge did not expect for this core; resynchronising", "err", err)
			if p, perr := r.lastPublished(ctx, c, subj, cipher); perr == nil {
				w.pub = p
			}
		default:
			warn("replication: publish failed; retrying", "err", err, "attempt", attempt)
		}
		// A publisher in backoff is busy: it keeps its goroutine and
		// retries on its own, whether or not the core changes meanwhile.
		if !sleepUntil(ctx, closed, retryDelay(attempt)) {
			return
		}
		attempt++
	}
}

var errStateMoved = errors.New("core changed while it was read")

// How many blocks publishState reads at a time: about publishWindowBytes,
// judged by the core's average block size and then by the blocks just
// read, and at most publishWindowMax. Publishing a large core from the
// start (a new stream, or a truncate the stream never saw) then holds a few
// MiB in memory, not the whole core; an append's batch is one window.
// Variables so that tests can make windows small.
var (
	publishWindowMax   = uint64(4096)
	publishWindowBytes = uint64(4 << 20)
)

// publishState publishes what takes the stream from pub to the state info:
// the blocks from where the two trees part, in as many chunks as the message
// size needs, the last one signed. It reads and publishes a window of blocks
// at a time.
func (r *Replicator) publishState(ctx context.Context, c *core.Core, subj string, cipher *replCipher, pub published, info core.Info) (published, error) {
	start, ok := c.SharedPrefix(pub.fork, pub.length)
	if !ok {
		start = 0 // history unknown (a restart since): send everything again
	}
	window := windowFor(info.ByteLength, info.Length)
	for {
		end := min(info.Length, start+window)
		blocks, err := c.Blocks(ctx, start, end)
		if err != nil {
			return pub, err
		}
		if c.Fork() != info.Fork || uint64(len(blocks)) != end-start {
			return pub, errStateMoved
		}
		values := make([][]byte, len(blocks))
		size := uint64(0)
		for i, b := range blocks {
			values[i] = b.Value
			size += uint64(len(b.Value))
		}
		last := end == info.Length
		var sig, manifest []byte
		if last {
			sig, manifest = info.Signature, info.Manifest
		}
		msgs := chunk(info.Fork, start, values, sig, manifest, r.o.MaxMessage)
		if last {
			msgs[len(msgs)-1].Encoding = string(info.UserData[UserDataEncoding])
		}
		for _, m := range msgs {
			seq, err := r.publishMessage(ctx, subj, cipher, m, pub.seq)
			if err != nil {
				return pub, err
			}
			pub = published{fork: m.Fork, length: m.end(), seq: seq}
			r.published.Add(1)
		}
		if last {
			return pub, nil
		}
		window = windowFor(size, end-start)
		start = end
	}
}

// windowFor is how many blocks to read at once where n blocks hold size
// bytes.
func windowFor(size, n uint64) uint64 {
	if n == 0 {
		return publishWindowMax
	}
	avg := max(size/n, 1)
	return min(max(publishWindowBytes/avg, 1), publishWindowMax)
}

// chunk splits a run into messages of at most maxBytes of values (at least
// one value each); only the last carries the signature and the manifest.
func chunk(fork, start uint64, values [][]byte, sig, manifest []byte, maxBytes int) []*replMessage {
	var out []*replMessage
	cur := &replMessage{Fork: fork, Start: start}
	size := 0
	for _, v := range values {
		if len(cur.Values) > 0 && size+len(v)+9 > maxBytes {
			out = append(out, cur)
			cur = &replMessage{Fork: fork, Start: cur.end()}
			size = 0
		}
		cur.Values = append(cur.Values, v)
		size += len(v) + 9
	}
	cur.Signature, cur.Manifest = sig, manifest
	return append(out, cur)
}

// publishMessage publishes one message, idempotently (Nats-Msg-Id) and only
// if the stream's last message for the core is the one this writer last
// published (Nats-Expected-Last-Subject-Sequence): one writer per core.
func (r *Replicator) publishMessage(ctx context.Context, subj string, cipher *replCipher, m *replMessage, lastSeq uint64) (uint64, error) {
	msg := &natsgo.Msg{Subject: subj, Data: cipher.seal(m.encode())}
	signed := "c"
	if m.Signature != nil {
		signed = "s"
	}
	id := subj + "." + strconv.FormatUint(m.Fork, 10) + "." + strconv.FormatUint(m.Start, 10) + "." + strconv.FormatUint(m.end(), 10) + signed
	ack, err := r.o.JetStream.PublishMsg(ctx, msg, jetstream.WithMsgID(id), jetstream.WithExpectLastSequencePerSubject(lastSeq))
	if err != nil {
		return 0, fmt.Errorf("publish %s: %w", subj, err)
	}
	return ack.Sequence, nil
}

// lastPublished reads the stream's last message for a core. Unless it is
// one this writer signed for its current tree, the position is zero, so the
// whole core is published again after it: a reader behind a forged or
// foreign message still gets every block.
func (r *Replicator) lastPublished(ctx context.Context, c *core.Core, subj string, cipher *replCipher) (published, error) {
	raw, err := r.stream.GetLastMsgForSubject(ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return published{}, nil
	}
	if err != nil {
		return published{}, err
	}
	m, err := cipher.open(raw.Data)
	if err == nil && m.Signature == nil {
		err = errors.New("it is an unsigned chunk")
	}
	if err == nil {
		err = c.VerifyState(ctx, m.Fork, m.end(), m.Signature)
	}
	if err != nil {
		r.log.Warn("replication: the stream's last message for this core is not this writer's current state; publishing the core again", "subject", subj, "seq", raw.Sequence, "err", err)
		return published{seq: raw.Sequence}, nil
	}
	return published{fork: m.Fork, length: m.end(), seq: raw.Sequence}, nil
}

// isWrongLastSequence reports a Nats-Expected-Last-Subject-Sequence conflict.
func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return false
}
