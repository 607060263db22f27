package nats

import (
	"errors"
	"strconv"
	"sync"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/plugins/encodings"
)

// Group commit: every append request for a core joins the core's queue in
// arrival order. One goroutine per core with work drains the queue and
// commits everything that arrived together as one batch: one encode call,
// one tree update, one signature, one storage commit (which the storage
// backend may share with other cores' commits). Each client is answered
// after the batch is durable, with the length at its own last value, so it
// knows where its values landed. A slow core holds up only its own queue.

// Limits of one group commit; what does not fit waits for the next.
const (
	maxGroupValues = 4096
	maxGroupBytes  = 16 << 20
)

// Limits of what may wait for a core's commits, about four full groups:
// past them an append is answered 503 at once, so a flooded core cannot
// hold memory without bound and its clients learn to slow down. A request
// that finds the queue empty is always taken. Variables so that tests can
// reach them.
var (
	maxQueuedValues = 4 * maxGroupValues
	maxQueuedBytes  = 4 * maxGroupBytes
)

type appendRequest struct {
	r      micro.Request
	values [][]byte
	format encodings.Format
	bytes  int
}

type appender struct {
	s       *Service
	sv      *served
	mu      sync.Mutex
	queue   []*appendRequest
	running bool
	// What the queue holds, against maxQueuedValues and maxQueuedBytes.
	queuedValues, queuedBytes int
}

func newAppender(s *Service, sv *served) *appender { return &appender{s: s, sv: sv} }

// enqueue parses a request and queues it. It runs on the subscription's
// goroutine, so the queue keeps arrival order.
func (a *appender) enqueue(r micro.Request) {
	values, err := splitBatch(r.Headers().Get(HeaderBatch), r.Data(), a.s.o.MaxValueSize)
	if err != nil {
		a.s.respondError(r, err)
		return
	}
	format := encodings.Format(r.Headers().Get(HeaderFormat))
	if r.Headers().Get(HeaderBatch) == BatchJSON {
		// The elements of a JSON array are JSON, whatever the core's
		// default wire format is.
		switch format {
		case encodings.FormatDefault:
			format = encodings.FormatJSON
		case encodings.FormatJSON:
		default:
			a.s.respondError(r, BadRequest("a %s: %s batch carries values in the json format, not %q; send them with %s: %s",
				HeaderBatch, BatchJSON, format, HeaderBatch, BatchFrames))
			return
		}
	}
	req := &appendRequest{r: r, values: values, format: format}
	for _, v := range values {
		req.bytes += len(v)
	}
	if err := a.push(req); err != nil {
		a.s.respondError(r, err) // outside a.mu: the committer goes on meanwhile
	}
}

// push queues req, starting the committer if it is not running, or says
// why it cannot.
func (a *appender) push(req *appendRequest) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.queue) > 0 && (a.queuedValues+len(req.values) > maxQueuedValues || a.queuedBytes+req.bytes > maxQueuedBytes) {
		return Unavailable("core %s has %d values (%d bytes) waiting to be committed, the most it queues; retry later",
			a.sv.core.Key(), a.queuedValues, a.queuedBytes)
	}
	if !a.running {
		if !a.s.begin() {
			return Unavailable("bridge is shutting down")
		}
		a.running = true
		go a.run()
	}
	a.queue = append(a.queue, req)
	a.queuedValues += len(req.values)
	a.queuedBytes += req.bytes
	return nil
}

// run commits groups until the queue is empty.
func (a *appender) run() {
	defer a.s.work.Done()
	for {
		a.mu.Lock()
		n, values, size := 0, 0, 0
		for n < len(a.queue) && (n == 0 || (values+len(a.queue[n].values) <= maxGroupValues && size+a.queue[n].bytes <= maxGroupBytes)) {
			values += len(a.queue[n].values)
			size += a.queue[n].bytes
			n++
		}
		group := a.queue[:n:n]
		a.queue = a.queue[n:]
		a.queuedValues -= values
		a.queuedBytes -= size
		if n == 0 {
			a.running = false
			a.queue = nil
			a.mu.Unlock()
			return
		}
		a.mu.Unlock()
		a.commit(group)
	}
}

func (a *appender) commit(group []*appendRequest) {
	ctx := a.s.ctx
	group, encoded := a.encode(group)
	if len(group) == 0 {
		return
	}
	var all [][]byte
	for _, e := range encoded {
		all = append(all, e...)
	}
	res, err := a.sv.core.Append(ctx, all)
	if err != nil {
		for _, req := range group {
			a.s.respondError(req.r, err)
		}
		return
	}
	start := res.Length - uint64(len(all))
	var total uint64
	for _, v := range all {
		total += uint64(len(v))
	}
	length, bytes := start, res.ByteLength-total
	for i, req := range group {
		for _, v := range encoded[i] {
			length++
			bytes += uint64(len(v))
		}
		req.r.RespondJSON(appendReply{Length: length, ByteLength: bytes, Fork: res.Fork})
	}
	a.publishEvents(start, all, res)
}

// appendReply answers an append.
type appendReply struct {
	Length     uint64 `json:"length"`
	ByteLength uint64 `json:"byteLength"`
	Fork       uint64 `json:"fork"`
}

// encode turns every request's values into stored bytes with one encode
// call per wire format in the group. A request with an invalid value is
// answered with its error and left out; the rest go on.
func (a *appender) encode(group []*appendRequest) ([]*appendRequest, [][][]byte) {
	ctx := a.s.ctx
	byFormat := map[encodings.Format][]int{}
	var formats []encodings.Format
	for i, req := range group {
		if _, ok := byFormat[req.format]; !ok {
			formats = append(formats, req.format)
		}
		byFormat[req.format] = append(byFormat[req.format], i)
	}
	encoded := make([][][]byte, len(group))
	failed := make([]bool, len(group))
	for _, f := range formats {
		idx := byFormat[f]
		var values [][]byte
		for _, i := range idx {
			values = append(values, group[i].values...)
		}
		out, err := a.sv.enc.Encode(ctx, f, values)
		if err == nil && len(out) != len(values) {
			err = errors.New("encoding returned a wrong number of values")
		}
		if err == nil {
			off := 0
			for _, i := range idx {
				encoded[i] = out[off : off+len(group[i].values)]
				off += len(group[i].values)
			}
			continue
		}
		if len(idx) == 1 || !errors.Is(err, encodings.ErrInvalidValue) {
			for _, i := range idx {
				failed[i] = true
				a.s.respondError(group[i].r, err)
			}
			continue
		}
		// Someone sent an invalid value: find whose, one request at a time.
		for _, i := range idx {
			out, err := a.sv.enc.Encode(ctx, f, group[i].values)
			if err != nil {
				failed[i] = true
				a.s.respondError(group[i].r, err)
				continue
			}
			encoded[i] = out
		}
	}
	keep, keepEnc := group[:0:0], encoded[:0:0]
	for i := range group {
		if !failed[i] {
			keep = append(keep, group[i])
			keepEnc = append(keepEnc, encoded[i])
		}
	}
	return keep, keepEnc
}

// publishEvents sends one core.<key>.appended message per block, in the
// encoding's default read format, with index, length and fork headers.
func (a *appender) publishEvents(start uint64, stored [][]byte, res core.AppendResult) {
	values, err := a.sv.enc.Decode(a.s.ctx, encodings.FormatDefault, stored)
	if err != nil || len(values) != len(stored) {
		a.s.log.Warn("appended events carry stored bytes: decode failed", "key", a.sv.core.Key().String(), "err", err)
		values = stored
	}
	subj := a.s.o.Subjects.CoreAppended(a.sv.core.Key())
	fork := strconv.FormatUint(res.Fork, 10)
	length := strconv.FormatUint(res.Length, 10)
	for i, v := range values {
		m := &natsgo.Msg{Subject: subj, Data: v, Header: natsgo.Header{}}
		m.Header.Set(HeaderIndex, strconv.FormatUint(start+uint64(i), 10))
		m.Header.Set(HeaderLength, length)
		m.Header.Set(HeaderFork, fork)
		if err := a.s.o.Conn.PublishMsg(m); err != nil {
			a.s.log.Warn("appended event not published", "key", a.sv.core.Key().String(), "index", start+uint64(i), "err", err)
		}
	}
}
