package plugins

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var (
	errA = errors.New("a failed")
	errB = errors.New("b failed")
)

var testTable = ErrorTable{
	{Err: errA, Code: codes.InvalidArgument, Reason: "A"},
	{Err: errB, Code: codes.InvalidArgument, Reason: "B"}, // same code, told apart by reason
}

func TestErrorTableRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		err      error
		code     codes.Code
		sentinel error
	}{
		{fmt.Errorf("value 3: %w", errA), codes.InvalidArgument, errA},
		{fmt.Errorf("block 1: %w", errB), codes.InvalidArgument, errB},
		{fmt.Errorf("waiting: %w", context.Canceled), codes.Canceled, context.Canceled},
		{fmt.Errorf("waiting: %w", context.DeadlineExceeded), codes.DeadlineExceeded, context.DeadlineExceeded},
		{fmt.Errorf("disk: %w", ErrUnavailable), codes.Unavailable, ErrUnavailable},
		{errors.New("something else"), codes.Unknown, nil},
	} {
		st := testTable.ToStatus(tc.err)
		if got := status.Code(st); got != tc.code {
			t.Errorf("ToStatus(%v) code %v, want %v", tc.err, got, tc.code)
		}
		back := testTable.FromStatus(st)
		if back.Error() != tc.err.Error() && tc.sentinel != nil {
			t.Errorf("message %q came back as %q", tc.err, back)
		}
		if tc.sentinel != nil && !errors.Is(back, tc.sentinel) {
			t.Errorf("%v came back as %v, which does not match %v", tc.err, back, tc.sentinel)
		}
		for _, other := range []error{errA, errB} {
			if other != tc.sentinel && errors.Is(back, other) {
				t.Errorf("%v came back matching %v too", tc.err, other)
			}
		}
	}
	if testTable.ToStatus(nil) != nil || testTable.FromStatus(nil) != nil {
		t.Error("nil did not stay nil")
	}
	plain := errors.New("not a status")
	if got := testTable.FromStatus(plain); got != plain {
		t.Errorf("FromStatus(non-status) = %v", got)
	}
}
