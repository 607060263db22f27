package nats

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recorder is a slog.Handler that keeps level and message of each record.
type recorder struct {
	mu   sync.Mutex
	min  slog.Level
	recs []string
}

func (r *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= r.min }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Level.String()+" "+rec.Message)
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func TestServerLogger(t *testing.T) {
	rec := &recorder{min: slog.LevelDebug}
	l := newServerLogger(slog.New(rec))
	l.Noticef("listening on %s", "x")
	l.Warnf("w%d", 1)
	l.Errorf("e")
	l.Debugf("d")
	l.Tracef("not shown at debug")
	l.Fatalf("cannot listen: %s", "in use")
	l.Fatalf("second fatal")
	want := []string{"INFO listening on x", "WARN w1", "ERROR e", "DEBUG d", "ERROR cannot listen: in use", "ERROR second fatal"}
	if diff := cmp.Diff(want, rec.recs); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	select {
	case msg := <-l.fatal:
		if msg != "cannot listen: in use" {
			t.Errorf("fatal = %q, want the first fatal message", msg)
		}
	default:
		t.Error("Fatalf did not offer its message")
	}

	// A fatal line is reported even when the logger shows nothing.
	quiet := newServerLogger(slog.New(&recorder{min: slog.LevelError + 1}))
	quiet.Fatalf("boom %d", 1)
	if msg := <-quiet.fatal; msg != "boom 1" {
		t.Errorf("quiet fatal = %q", msg)
	}
}
