package plugins

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors the host machinery returns. Match them with errors.Is.
var (
	// ErrUnavailable means the plugin process is not there to answer: it
	// died during the call, or it is being restarted and did not come back
	// before the caller's context ended. Retrying later may succeed. A call
	// that failed this way may or may not have taken effect in the plugin.
	ErrUnavailable = errors.New("plugin unavailable")

	// ErrClosed means the Process was closed; it will not start again.
	ErrClosed = errors.New("plugin closed")

	// ErrNotFound means no plugin executable exists for a kind and name.
	ErrNotFound = errors.New("plugin not found")
)

// errorDomain is the ErrorInfo domain of the errors a corebridge plugin
// reports, so a host can tell them from errors of gRPC itself.
const errorDomain = "corebridge.plugins"

// ErrorCode says how one sentinel error travels across the plugin boundary:
// as a gRPC status with Code, carrying an ErrorInfo detail with Reason so
// that two sentinels may share a code.
type ErrorCode struct {
	Err    error      // the sentinel
	Code   codes.Code // the gRPC code it travels as
	Reason string     // unique within a table, e.g. "INVALID_VALUE"
}

// ErrorTable is the list of sentinels of one plugin kind. The plugin side
// turns errors into statuses with ToStatus; the host side turns them back
// with FromStatus, so that errors.Is holds on the host for every sentinel in
// the table and the message the plugin wrote is kept word for word.
//
// Context errors and ErrUnavailable need no entry: they always map to
// Canceled, DeadlineExceeded and Unavailable.
type ErrorTable []ErrorCode

// ToStatus returns err as a gRPC status error, for a plugin's gRPC server to
// return. Errors that wrap no sentinel of t travel as codes.Unknown.
// ToStatus(nil) is nil.
func (t ErrorTable) ToStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok && !t.wrapsSentinel(err) {
		// Already a status (for example from a nested gRPC call).
		return err
	}
	code, reason := codes.Unknown, ""
	switch {
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, ErrUnavailable):
		code = codes.Unavailable
	default:
		for _, e := range t {
			if errors.Is(err, e.Err) {
				code, reason = e.Code, e.Reason
				break
			}
		}
	}
	st := status.New(code, err.Error())
	if reason != "" {
		if withInfo, derr := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: errorDomain}); derr == nil {
			st = withInfo
		}
	}
	return st.Err()
}

func (t ErrorTable) wrapsSentinel(err error) bool {
	for _, e := range t {
		if errors.Is(err, e.Err) {
			return true
		}
	}
	return false
}

// FromStatus turns an error returned by a gRPC client call back into the
// sentinel it was made from. The result's message is the plugin's own
// message; it matches the sentinel with errors.Is and still reports its
// gRPC status to status.FromError. Errors that are not statuses are returned
// as they are. FromStatus(nil) is nil.
func (t ErrorTable) FromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	var sentinel error
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.GetDomain() != errorDomain {
			continue
		}
		for _, e := range t {
			if e.Reason == info.GetReason() {
				sentinel = e.Err
			}
		}
	}
	if sentinel == nil {
		switch st.Code() {
		case codes.Canceled:
			if st.Message() == connClosing {
				// The call was made on the connection of a process that
				// has since been replaced or closed.
				sentinel = ErrUnavailable
				break
			}
			sentinel = context.Canceled
		case codes.DeadlineExceeded:
			sentinel = context.DeadlineExceeded
		case codes.Unavailable:
			sentinel = ErrUnavailable
		}
	}
	if sentinel == nil {
		return err
	}
	return &remoteError{sentinel: sentinel, st: st}
}

// connClosing is the message of the status a call made on a closed
// connection fails with.
var connClosing = status.Convert(grpc.ErrClientConnClosing).Message()

// remoteError is an error that came back from a plugin process.
type remoteError struct {
	sentinel error
	st       *status.Status
}

func (e *remoteError) Error() string              { return e.st.Message() }
func (e *remoteError) Unwrap() error              { return e.sentinel }
func (e *remoteError) GRPCStatus() *status.Status { return e.st }
