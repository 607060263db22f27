package nats

import (
	"encoding/json"
	"errors"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// msgRequest lets a plain subscription's message be answered like a micro
// request, so per-core subjects and micro endpoints share handlers and
// error conventions.
type msgRequest struct{ m *natsgo.Msg }

var _ micro.Request = msgRequest{}

var errNoReply = errors.New("request has no reply subject")

func (r msgRequest) Respond(data []byte, opts ...micro.RespondOpt) error {
	if r.m.Reply == "" {
		return errNoReply
	}
	reply := natsgo.NewMsg(r.m.Reply)
	reply.Data = data
	for _, o := range opts {
		o(reply)
	}
	return r.m.RespondMsg(reply)
}

func (r msgRequest) RespondJSON(v any, opts ...micro.RespondOpt) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return r.Respond(b, opts...)
}

func (r msgRequest) Error(code, description string, data []byte, opts ...micro.RespondOpt) error {
	opts = append([]micro.RespondOpt{func(m *natsgo.Msg) {
		if m.Header == nil {
			m.Header = natsgo.Header{}
		}
		m.Header.Set(micro.ErrorHeader, description)
		m.Header.Set(micro.ErrorCodeHeader, code)
	}}, opts...)
	return r.Respond(data, opts...)
}

func (r msgRequest) Data() []byte { return r.m.Data }

func (r msgRequest) Headers() micro.Headers { return micro.Headers(r.m.Header) }

func (r msgRequest) Subject() string { return r.m.Subject }

func (r msgRequest) Reply() string { return r.m.Reply }
