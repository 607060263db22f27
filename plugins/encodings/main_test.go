package encodings_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/corebridge/corebridge/plugins"
	"github.com/corebridge/corebridge/plugins/encodings"
)

// hostEnv turns the test binary into a small host (see runHost), for the
// test that kills a host.
const hostEnv = "COREBRIDGE_TEST_ENCODING_HOST"

func TestMain(m *testing.M) {
	// The plugin check comes first: a plugin started by a host-mode test
	// binary inherits hostEnv too.
	if kind, name, ok := plugins.TestPlugin(); ok && kind == plugins.KindEncoding {
		if err := testRegistry(os.Stderr).Serve(name); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	if name, ok := os.LookupEnv(hostEnv); ok {
		os.Exit(runHost(name))
	}
	os.Exit(m.Run())
}

// runHost starts the builtin encoding name as a plugin process, prints its
// pid on stdout, and then waits to be killed, or for stdin to close.
func runHost(name string) int {
	defer plugins.CleanupAll()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := plugins.TestCommand(plugins.KindEncoding, name)
	e, closer, err := encodings.Open(ctx, encodings.Spec{Builtins: encodings.Builtins(), Name: name, Command: &cmd}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer closer.Close()
	if _, err := e.Encode(ctx, "", [][]byte{[]byte("1")}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("pid %d\n", encodings.Pid(e))
	// Block until the test kills us (or gives up and closes stdin).
	r := bufio.NewReader(os.Stdin)
	_, _ = r.ReadString('\n')
	return 0
}

// eventually polls cond until it holds or timeout passes, then fails the
// test with the last state cond described.
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

// processGone reports whether pid has exited (a zombie counts: it has).
func processGone(pid int) (bool, string) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true, fmt.Sprintf("pid %d gone", pid)
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		state := s[i+2 : i+3]
		return state == "Z", fmt.Sprintf("pid %d in state %s", pid, state)
	}
	return false, fmt.Sprintf("pid %d: %q", pid, s)
}

// testRegistry is the builtins plus "stall", an encoding for fault tests.
// Logs of the stall encoding go to w in the form plugin logs travel in.
func testRegistry(w io.Writer) encodings.Registry {
	m := map[string]func() encodings.Encoding{
		"stall": func() encodings.Encoding {
			return stallEncoding{logger: plugins.NewPluginLogger(w, slog.LevelInfo)}
		},
		"upper": func() encodings.Encoding { return upperEncoding{} },
	}
	for _, name := range encodings.Builtins().Names() {
		m[name], _ = encodings.Builtins().Lookup(name)
	}
	return encodings.NewRegistry(m)
}

// stallEncoding stores values as they are, except that encoding the value
// "stall" logs "stalling" and then waits for the call's context to end.
type stallEncoding struct{ logger *slog.Logger }

func (stallEncoding) Info(ctx context.Context) (encodings.Info, error) {
	return encodings.Info{Name: "stall", Formats: []encodings.Format{encodings.FormatBinary}}, ctx.Err()
}

func (s stallEncoding) Encode(ctx context.Context, _ encodings.Format, values [][]byte) ([][]byte, error) {
	for _, v := range values {
		if string(v) == "stall" {
			s.logger.Info("stalling")
			<-ctx.Done()
			return nil, ctx.Err()
		}
	}
	return values, ctx.Err()
}

func (stallEncoding) Decode(ctx context.Context, _ encodings.Format, blocks [][]byte) ([][]byte, error) {
	return blocks, ctx.Err()
}

// captureLogs returns a logger whose records' messages arrive on the
// channel.
func captureLogs(t *testing.T) (*slog.Logger, <-chan string) {
	ch := make(chan string, 1024)
	return slog.New(&chanHandler{ch: ch}), ch
}

type chanHandler struct{ ch chan string }

func (h *chanHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *chanHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h.ch <- r.Message:
	default:
	}
	return nil
}
func (h *chanHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *chanHandler) WithGroup(string) slog.Handler      { return h }

// upperEncoding declares its format "as-is" verbatim but upper-cases what
// it encodes and decodes in every format: where the host skips a call, the
// bytes come back unchanged, so a test sees which calls were made.
type upperEncoding struct{}

func (upperEncoding) Info(ctx context.Context) (encodings.Info, error) {
	return encodings.Info{Name: "upper", Formats: []encodings.Format{"as-is", "shout"}, Verbatim: []encodings.Format{"as-is"}}, ctx.Err()
}

func (upperEncoding) Encode(ctx context.Context, _ encodings.Format, values [][]byte) ([][]byte, error) {
	return upperAll(values), ctx.Err()
}

func (upperEncoding) Decode(ctx context.Context, _ encodings.Format, blocks [][]byte) ([][]byte, error) {
	return upperAll(blocks), ctx.Err()
}

func upperAll(bs [][]byte) [][]byte {
	out := make([][]byte, len(bs))
	for i, b := range bs {
		out[i] = bytes.ToUpper(b)
	}
	return out
}
