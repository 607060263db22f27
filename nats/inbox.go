package nats

import (
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/corebridge/corebridge/core"
)

// Inboxes: the per-core subscriptions (append, block, info) are channel
// subscriptions that all feed a few shared inboxes, each drained by one
// goroutine, instead of nats.go's one goroutine per subscription. A core
// always feeds the same inbox (picked by its key), and NATS hands a
// connection's messages over in arrival order, so one core's appends are
// queued for their group commit in the order they arrived, as before.
//
// The drainers never wait on a core: an append is parsed and queued for
// the core's appender, a block or info request is dispatched to its own
// goroutine or refused with 503 past maxInFlight. So an inbox only fills
// when the drainers get no CPU for as long as it takes NATS to deliver
// inboxSize messages.
//
// Limits. nats.go never blocks its reader on a full channel: a message that
// does not fit is dropped, counted in that subscription's Dropped(), and
// reported with natsgo.ErrSlowConsumer to the connection's async error
// handler (once per run of drops on one subscription; the bridge's
// connection logs it with the core's subject). The requester gets no answer
// and times out, as it did when a subscription passed its own pending limit.
// The limit is inboxSize messages per inbox, shared by all the cores on
// that inbox, and counts messages, not bytes: per-subscription pending
// limits (SetPendingLimits) do not apply to channel subscriptions. Before,
// each core had nats.go's default of 500,000 messages or 64 MiB to itself.

// inboxSize is how many messages one inbox holds: a slice of pointers,
// 512 KiB per inbox. A variable so that tests can fill an inbox.
var inboxSize = 1 << 16

// maxInboxes bounds the drainers, however many CPUs there are.
const maxInboxes = 8

type routeKind uint8

const (
	routeAppend routeKind = iota
	routeBlock
	routeInfo
)

// route is where a per-core subscription's messages go.
type route struct {
	sv   *served
	kind routeKind
}

// startInboxes makes n inboxes of size messages and their drainers.
func (s *Service) startInboxes(n, size int) {
	s.routes = map[string]route{}
	s.quit = make(chan struct{})
	s.inboxes = make([]chan *natsgo.Msg, n)
	for i := range s.inboxes {
		in := make(chan *natsgo.Msg, size)
		s.inboxes[i] = in
		s.drainers.Add(1)
		go s.drain(in)
	}
}

// stopInboxes ends the drainers once they have taken what their inboxes
// hold. Callers have unsubscribed first, so nothing more arrives.
func (s *Service) stopInboxes() {
	if s.quit == nil {
		return
	}
	close(s.quit)
	s.drainers.Wait()
}

// inboxOf is the inbox of a core's subscriptions.
func (s *Service) inboxOf(key core.Key) chan *natsgo.Msg {
	// Keys are hashes or public keys: any byte spreads cores evenly.
	return s.inboxes[int(key[0])%len(s.inboxes)]
}

func (s *Service) addRoute(subj string, r route) {
	s.routeMu.Lock()
	s.routes[subj] = r
	s.routeMu.Unlock()
}

func (s *Service) removeRoute(subj string) {
	s.routeMu.Lock()
	delete(s.routes, subj)
	s.routeMu.Unlock()
}

// drain hands an inbox's messages to their cores until Stop.
func (s *Service) drain(in <-chan *natsgo.Msg) {
	defer s.drainers.Done()
	for {
		select {
		case m := <-in:
			s.deliver(m)
		case <-s.quit:
			for {
				select {
				case m := <-in:
					s.deliver(m)
				default:
					return
				}
			}
		}
	}
}

// deliver hands one message to its core: an append joins the core's queue
// here, on the drainer, to keep arrival order; other requests are
// dispatched.
func (s *Service) deliver(m *natsgo.Msg) {
	r := msgRequest{m}
	subj := m.Subject
	if m.Sub != nil {
		subj = m.Sub.Subject // what was subscribed, the route's key
	}
	s.routeMu.RLock()
	rt, ok := s.routes[subj]
	s.routeMu.RUnlock()
	if !ok {
		// Its subscription failed half made and was taken back.
		s.respondError(r, Unavailable("core is not served by this bridge; retry"))
		return
	}
	sv := rt.sv
	switch rt.kind {
	case routeAppend:
		sv.app.enqueue(r)
	case routeBlock:
		s.dispatch(r, func(r micro.Request) { s.handleBlock(sv, r) })
	case routeInfo:
		s.dispatch(r, func(r micro.Request) { s.handleInfo(sv, r) })
	}
}
