package nats

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats-server/v2/server"
)

// LevelTrace is the slog level of nats-server's trace lines, below debug.
const LevelTrace = slog.LevelDebug - 4

// serverLogger passes an embedded nats-server's log lines to slog. A
// fatal line does not end the process as nats-server's own logger would:
// it is logged as an error and offered on fatal, so that starting the
// server can report it instead of waiting for a timeout.
type serverLogger struct {
	log   *slog.Logger
	fatal chan string // the first fatal message; buffered, never blocks
}

var _ server.Logger = (*serverLogger)(nil)

func newServerLogger(log *slog.Logger) *serverLogger {
	return &serverLogger{log: log, fatal: make(chan string, 1)}
}

func (l *serverLogger) logf(level slog.Level, format string, v []any) string {
	// nats-server's Logger interface carries no context.
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) && level < slog.LevelError {
		return ""
	}
	msg := fmt.Sprintf(format, v...)
	l.log.Log(ctx, level, msg)
	return msg
}

func (l *serverLogger) Noticef(format string, v ...any) { l.logf(slog.LevelInfo, format, v) }
func (l *serverLogger) Warnf(format string, v ...any)   { l.logf(slog.LevelWarn, format, v) }
func (l *serverLogger) Errorf(format string, v ...any)  { l.logf(slog.LevelError, format, v) }
func (l *serverLogger) Debugf(format string, v ...any)  { l.logf(slog.LevelDebug, format, v) }
func (l *serverLogger) Tracef(format string, v ...any)  { l.logf(LevelTrace, format, v) }

func (l *serverLogger) Fatalf(format string, v ...any) {
	msg := l.logf(slog.LevelError, format, v)
	select {
	case l.fatal <- msg:
	default:
	}
}
