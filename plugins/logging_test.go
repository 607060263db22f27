package plugins

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// TestPluginLoggerWritesHCLogJSON checks the fields go-plugin reads from a
// plugin's log lines.
func TestPluginLoggerWritesHCLogJSON(t *testing.T) {
	var buf bytes.Buffer
	NewPluginLogger(&buf, LevelTrace).Log(t.Context(), LevelTrace, "hello", "k", "v")
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("%q: %v", buf.String(), err)
	}
	for k, want := range map[string]any{"@level": "trace", "@message": "hello", "k": "v"} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v (line %s)", k, m[k], want, buf.String())
		}
	}
	if _, ok := m["@timestamp"].(string); !ok {
		t.Errorf("no @timestamp in %s", buf.String())
	}
}

func TestHCLogAdapterLevels(t *testing.T) {
	logger, logs := newCapture(t)
	a := newHCLogAdapter(logger).Named("x").With("a", 1)
	a.Trace("t")
	a.Debug("d")
	a.Info("i")
	a.Warn("w")
	a.Error("e")
	want := []slog.Level{LevelTrace, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}
	for i, msg := range []string{"t", "d", "i", "w", "e"} {
		r := <-logs
		if r.Msg != msg || r.Level != want[i] || r.Attrs["logger"] != "x" || r.Attrs["a"] != "1" {
			t.Errorf("record %d = %+v, want %q at %v with logger=x a=1", i, r, msg, want[i])
		}
	}
	quiet := newHCLogAdapter(slog.New(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if quiet.IsDebug() || !quiet.IsWarn() || quiet.GetLevel() != hclog.Warn {
		t.Errorf("level checks wrong for a warn logger: debug %v warn %v level %v", quiet.IsDebug(), quiet.IsWarn(), quiet.GetLevel())
	}
}
