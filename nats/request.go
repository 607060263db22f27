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
	reply, err := replyMsg(r.m.Reply, data, opts)
	if err != nil {
		return err
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
	return r.Respond(data, append([]micro.RespondOpt{errorHeaders(code, description)}, opts...)...)
}

func (r msgRequest) Data() []byte { return r.m.Data }

func (r msgRequest) Headers() micro.Headers { return micro.Headers(r.m.Header) }

func (r msgRequest) Subject() string { return r.m.Subject }

func (r msgRequest) Reply() string { return r.m.Reply }

// replyMsg is the answer to a request with reply subject subj.
func replyMsg(subj string, data []byte, opts []micro.RespondOpt) (*natsgo.Msg, error) {
	if subj == "" {
		return nil, errNoReply
	}
	reply := natsgo.NewMsg(subj)
	reply.Data = data
	for _, o := range opts {
		o(reply)
	}
	return reply, nil
}

// errorHeaders sets the micro convention's error headers.
func errorHeaders(code, description string) micro.RespondOpt {
	return func(m *natsgo.Msg) {
		if m.Header == nil {
			m.Header = natsgo.Header{}
		}
		m.Header.Set(micro.ErrorHeader, description)
		m.Header.Set(micro.ErrorCodeHeader, code)
	}
}

// detachedRequest is a micro endpoint's request copied out of micro's
// hands and answered through the bridge's own connection. micro reads its
// request value (the error a handler answered with, for its stats) as soon
// as the endpoint handler returns, so a handler that answers later, on
// another goroutine, must not touch that value.
type detachedRequest struct {
	msgRequest
	nc *natsgo.Conn
}

func detach(nc *natsgo.Conn, r micro.Request) detachedRequest {
	m := &natsgo.Msg{Subject: r.Subject(), Reply: r.Reply(), Data: r.Data(), Header: natsgo.Header(r.Headers())}
	return detachedRequest{msgRequest: msgRequest{m}, nc: nc}
}

func (r detachedRequest) Respond(data []byte, opts ...micro.RespondOpt) error {
	reply, err := replyMsg(r.m.Reply, data, opts)
	if err != nil {
		return err
	}
	return r.nc.PublishMsg(reply)
}

func (r detachedRequest) RespondJSON(v any, opts ...micro.RespondOpt) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return r.Respond(b, opts...)
}

func (r detachedRequest) Error(code, description string, data []byte, opts ...micro.RespondOpt) error {
	return r.Respond(data, append([]micro.RespondOpt{errorHeaders(code, description)}, opts...)...)
}
