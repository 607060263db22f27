package nats

import (
	"context"
	"errors"
	"strconv"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/plugins/encodings"
)

// handleBlock answers core.<key>.block: the block's value in the format
// the client asks for, with index, length and fork headers.
func (s *Service) handleBlock(sv *served, r micro.Request) {
	req, err := parseBlockRequest(r.Data())
	if err != nil {
		s.respondError(r, err)
		return
	}
	ctx := s.ctx
	var opts []core.GetOption
	if req.Wait {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(s.waits, req.Timeout)
		defer cancel()
		opts = append(opts, core.Wait())
	}
	key := sv.core.Key()
	v, err := sv.core.Get(ctx, req.Index, opts...)
	switch {
	case errors.Is(err, core.ErrOutOfRange):
		s.respondError(r, NotFound("core %s has %d blocks, so block %d does not exist yet; ask with {\"index\": %d, \"wait\": true} to wait for it", key, sv.core.Length(), req.Index, req.Index))
		return
	case req.Wait && s.waits.Err() != nil:
		s.respondError(r, Unavailable("bridge is shutting down; block %d of core %s did not arrive before it stopped", req.Index, key))
		return
	case req.Wait && errors.Is(err, context.DeadlineExceeded):
		s.respondError(r, NotFound("block %d of core %s did not arrive within %s", req.Index, key, req.Timeout))
		return
	case err != nil:
		s.respondError(r, err)
		return
	}
	_, enc, err := s.encoding(sv)
	if err != nil {
		s.respondError(r, err)
		return
	}
	out, err := enc.Decode(s.ctx, encodings.Format(r.Headers().Get(HeaderFormat)), [][]byte{v})
	if err != nil {
		s.respondError(r, err)
		return
	}
	length, fork := sv.core.Head()
	r.Respond(out[0], func(m *natsgo.Msg) {
		if m.Header == nil {
			m.Header = natsgo.Header{}
		}
		m.Header.Set(HeaderIndex, strconv.FormatUint(req.Index, 10))
		m.Header.Set(HeaderLength, strconv.FormatUint(length, 10))
		m.Header.Set(HeaderFork, strconv.FormatUint(fork, 10))
	})
}
