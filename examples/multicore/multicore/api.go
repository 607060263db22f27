package multicore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// The parts of the corebridge subject API this example uses. A bridge
// configured with a subject_prefix puts it, and a dot, in front of every
// subject; this example assumes none.
const (
	// headerIndex is the index of the block a block reply carries.
	headerIndex = "Corebridge-Index"

	// requestTimeout bounds a request that a bridge answers at once.
	requestTimeout = 10 * time.Second
)

func storeGetSubject(store string) string { return "store." + store + ".get" }

func coreSubject(key, verb string) string { return "core." + key + "." + verb }

// Info is the part of a core's info (the reply of store.<store>.get and
// core.<key>.info) this example uses.
type Info struct {
	Key           string `json:"key"`
	Length        uint64 `json:"length"`
	Writable      bool   `json:"writable"`
	ValueEncoding string `json:"valueEncoding"`
}

// Error is an error reply of a bridge, by the NATS micro convention: the
// code (400 bad input, 404 unknown core or block, 409 conflict, 413 too
// large, 503 unavailable, 500 otherwise) in the Nats-Service-Error-Code
// header and the message in Nats-Service-Error. It reads replies as
// corebridge's own nats.ReplyError does.
type Error struct {
	Subject string // the subject the request went to
	Code    int
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: the bridge answered %d: %s", e.Subject, e.Code, e.Message)
}

// replyError returns the error m carries, or nil.
func replyError(subject string, m *nats.Msg) *Error {
	if m.Header == nil {
		return nil
	}
	codeText, msg := m.Header.Get(micro.ErrorCodeHeader), m.Header.Get(micro.ErrorHeader)
	if codeText == "" && msg == "" {
		return nil
	}
	code, err := strconv.Atoi(codeText)
	if err != nil {
		code = 500
	}
	return &Error{Subject: subject, Code: code, Message: msg}
}

// request sends body to subject and waits at most timeout for the reply.
// An error reply is returned as an *Error. When ctx ends first, the error
// is ctx's.
func request(ctx context.Context, nc *nats.Conn, subject string, body []byte, timeout time.Duration) (*nats.Msg, error) {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m, err := nc.RequestMsgWithContext(rctx, &nats.Msg{Subject: subject, Data: body})
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, nats.ErrNoResponders):
		return nil, fmt.Errorf("%s: no bridge answers on this NATS: %w", subject, err)
	case errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("%s: no reply within %s: %w", subject, timeout, nats.ErrTimeout)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", subject, err)
	}
	if e := replyError(subject, m); e != nil {
		return nil, e
	}
	return m, nil
}

// requestJSON sends the JSON of req and decodes the reply into resp.
func requestJSON(ctx context.Context, nc *nats.Conn, subject string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	m, err := request(ctx, nc, subject, body, requestTimeout)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(m.Data, resp); err != nil {
		return fmt.Errorf("%s: reply is not the JSON expected: %w", subject, err)
	}
	return nil
}

// getCore asks store's bridge for a core: by name (writable, created with
// the JSON encoding if new) or, when key is set, by key (followed through
// replication).
func getCore(ctx context.Context, nc *nats.Conn, store, name, key string) (Info, error) {
	req := map[string]string{"name": name, "valueEncoding": "json"}
	what := fmt.Sprintf("core %q", name)
	if key != "" {
		req = map[string]string{"key": key}
		what = "core " + key
	}
	var info Info
	err := requestJSON(ctx, nc, storeGetSubject(store), req, &info)
	if errors.Is(err, nats.ErrNoResponders) {
		return info, fmt.Errorf("get %s: no bridge named %q is on this NATS: start one with name = %q in its config, or pass the name of a running one", what, store, store)
	}
	if err != nil {
		return info, fmt.Errorf("get %s from store %q: %w", what, store, err)
	}
	return info, nil
}

// index is block 0 of core-1.
type index struct {
	OtherKeys []string `json:"otherKeys"`
}
