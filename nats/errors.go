package nats

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// Error codes of the NATS micro convention, carried in the
// Nats-Service-Error-Code header. They follow their HTTP namesakes.
const (
	CodeBadRequest  = 400 // the request is malformed: fix it before retrying
	CodeNotFound    = 404 // no such core or block
	CodeConflict    = 409 // the request contradicts the core's state
	CodeTooLarge    = 413 // a value is over limits.max_value_size
	CodeInternal    = 500 // anything else; the message says what failed
	CodeUnavailable = 503 // try again later: storage, JetStream or a plugin is not ready
)

// Error is an error with the code a bridge answers it with. Its message
// is meant for the person at the other end, so it says what to do.
type Error struct {
	Code    int
	Message string
	// Err is the cause, if any; errors.Is and errors.As see through Error
	// to it.
	Err error
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error with code and a message formatted as
// fmt.Errorf does; a %w verb makes its operand the Error's cause.
func Errorf(code int, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	e := &Error{Code: code, Message: err.Error()}
	switch err.(type) {
	case interface{ Unwrap() error }, interface{ Unwrap() []error }:
		e.Err = err
	}
	return e
}

// BadRequest is a 400 error.
func BadRequest(format string, args ...any) *Error { return Errorf(CodeBadRequest, format, args...) }

// NotFound is a 404 error.
func NotFound(format string, args ...any) *Error { return Errorf(CodeNotFound, format, args...) }

// Conflict is a 409 error.
func Conflict(format string, args ...any) *Error { return Errorf(CodeConflict, format, args...) }

// TooLarge is a 413 error.
func TooLarge(format string, args ...any) *Error { return Errorf(CodeTooLarge, format, args...) }

// Unavailable is a 503 error.
func Unavailable(format string, args ...any) *Error { return Errorf(CodeUnavailable, format, args...) }

// Internal is a 500 error.
func Internal(format string, args ...any) *Error { return Errorf(CodeInternal, format, args...) }

// ErrorCode pairs a sentinel error with the code that answers any error
// wrapping it (by errors.Is).
type ErrorCode struct {
	Err  error
	Code int
}

// DefaultErrorCodes returns the codes for errors of the NATS client and of
// context: timeouts, cancellation and a closed or unreachable connection
// are 503. It returns a new slice each time, for the service layer to
// extend with its own sentinels (core, corestore and plugin errors).
func DefaultErrorCodes() []ErrorCode {
	return []ErrorCode{
		{context.DeadlineExceeded, CodeUnavailable},
		{context.Canceled, CodeUnavailable},
		{natsgo.ErrTimeout, CodeUnavailable},
		{natsgo.ErrNoResponders, CodeUnavailable},
		{natsgo.ErrConnectionClosed, CodeUnavailable},
		{natsgo.ErrConnectionDraining, CodeUnavailable},
		{natsgo.ErrMaxPayload, CodeTooLarge},
	}
}

// Classify returns the code and message err is answered with. An [*Error]
// anywhere in err's chain gives its own code and message; otherwise the
// first entry of codes that err wraps gives the code and err's text is the
// message; otherwise it is 500. A nil err is not an error and gives 0.
func Classify(err error, codes []ErrorCode) (code int, message string) {
	if err == nil {
		return 0, ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code, e.Message
	}
	for _, c := range codes {
		if errors.Is(err, c.Err) {
			return c.Code, err.Error()
		}
	}
	return CodeInternal, err.Error()
}

// RespondError answers req with err by the micro convention: headers
// Nats-Service-Error (the message) and Nats-Service-Error-Code (the code,
// from [Classify] with codes), and no body. It returns the error of
// sending the reply, if any.
func RespondError(req micro.Request, err error, codes []ErrorCode) error {
	code, msg := Classify(err, codes)
	if code == 0 {
		code, msg = CodeInternal, "internal error: a handler reported failure without an error"
	}
	return req.Error(strconv.Itoa(code), headerSafe(msg), nil)
}

// headerSafe makes msg fit in one header value: a line break would end
// the header, and an empty value is not allowed.
func headerSafe(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if msg == "" {
		return "error"
	}
	return msg
}

// ReplyError returns the error a reply carries by the micro convention,
// as an [*Error], or nil when the reply is not an error. It is what
// clients of the bridge use to read an error answer.
func ReplyError(msg *natsgo.Msg) *Error {
	if msg == nil || msg.Header == nil {
		return nil
	}
	codeText := msg.Header.Get(micro.ErrorCodeHeader)
	desc := msg.Header.Get(micro.ErrorHeader)
	if codeText == "" && desc == "" {
		return nil
	}
	code, err := strconv.Atoi(codeText)
	if err != nil {
		code = CodeInternal
	}
	return &Error{Code: code, Message: desc}
}
