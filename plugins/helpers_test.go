package plugins

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// logRecord is one record a captureHandler saw, attributes flattened.
type logRecord struct {
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

// captureHandler is a slog.Handler that sends every record to a channel and
// to the test log.
type captureHandler struct {
	t     testing.TB
	ch    chan logRecord
	attrs []slog.Attr
	mu    *sync.Mutex
	done  *bool
}

func newCapture(t testing.TB) (*slog.Logger, <-chan logRecord) {
	ch := make(chan logRecord, 4096)
	done := false
	h := &captureHandler{t: t, ch: ch, mu: new(sync.Mutex), done: &done}
	t.Cleanup(func() {
		h.mu.Lock()
		*h.done = true
		h.mu.Unlock()
	})
	return slog.New(h), ch
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{Level: r.Level, Msg: r.Message, Attrs: map[string]string{}}
	for _, a := range h.attrs {
		rec.Attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.Attrs[a.Key] = a.Value.String()
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	if *h.done {
		return nil
	}
	h.t.Logf("log %s %q %v", rec.Level, rec.Msg, rec.Attrs)
	select {
	case h.ch <- rec:
	default:
	}
	return nil
}

func (h *captureHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *captureHandler) WithGroup(string) slog.Handler { return h }

// waitLog waits, until ctx ends, for a record that match accepts.
func waitLog(ctx context.Context, t *testing.T, ch <-chan logRecord, what string, match func(logRecord) bool) logRecord {
	t.Helper()
	for {
		select {
		case r := <-ch:
			if match(r) {
				return r
			}
		case <-ctx.Done():
			t.Fatalf("no log record %s: %v", what, ctx.Err())
		}
	}
}

// eventually polls cond every few milliseconds until it holds or timeout
// passes, and then fails the test with the last state cond described.
func eventually(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v; last state: %s", timeout, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// processState describes pid: "gone", "zombie", or "running (<state>)".
func processState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
			return "gone"
		}
		return "unknown"
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		if s[i+2] == 'Z' {
			return "zombie"
		}
		return "running (" + s[i+2:i+3] + ")"
	}
	return "running"
}

func processGone(pid int) (bool, string) {
	st := processState(pid)
	return st == "gone" || st == "zombie", fmt.Sprintf("pid %d %s", pid, st)
}
