package plugins

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func startEcho(t *testing.T, ctx context.Context) (*Process[echoer], <-chan logRecord) {
	t.Helper()
	logger, logs := newCapture(t)
	p, err := Start[echoer](ctx, TestCommand(echoKind, "echo"), &echoPlugin{}, logger)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p, logs
}

func echo(ctx context.Context, p *Process[echoer], s string) (string, error) {
	e, err := p.Get(ctx)
	if err != nil {
		return "", err
	}
	out, err := e.Echo(ctx, s)
	return out, p.Wrap(err)
}

func TestStartEchoClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, _ := startEcho(t, ctx)

	got, err := echo(ctx, p, "hello")
	if err != nil || got != "hello" {
		t.Fatalf("Echo(hello) = %q, %v; want hello", got, err)
	}
	pidText, err := echo(ctx, p, "pid")
	if err != nil {
		t.Fatal(err)
	}
	pid := p.Pid()
	if strconv.Itoa(pid) != pidText {
		t.Fatalf("Pid() = %d, plugin says its pid is %s", pid, pidText)
	}
	if pid == os.Getpid() {
		t.Fatalf("plugin runs in the test process")
	}

	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got := p.Pid(); got != 0 {
		t.Errorf("Pid after Close = %d, want 0", got)
	}
	if _, err := p.Get(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	eventually(t, 10*time.Second, func() (bool, string) { return processGone(pid) })
}

func TestErrorsCrossTheBoundary(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, _ := startEcho(t, ctx)

	_, err := echo(ctx, p, "fail")
	if !errors.Is(err, errEcho) {
		t.Fatalf("err = %v, want errors.Is(err, errEcho)", err)
	}
	want := `echo plugin "echo": echo "fail": echo failed`
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	if errors.Is(err, ErrUnavailable) {
		t.Errorf("plugin error %v matches ErrUnavailable", err)
	}

	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	_, err = echo(short, p, "block")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("blocked call: %v, want context.DeadlineExceeded", err)
	}
	if got, err := echo(ctx, p, "still here"); err != nil || got != "still here" {
		t.Errorf("after a timed out call: %q, %v", got, err)
	}
}

func TestPluginLogsReachHostLogger(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, logs := startEcho(t, ctx)
	if _, err := echo(ctx, p, "log:disk is nearly full"); err != nil {
		t.Fatal(err)
	}
	r := waitLog(ctx, t, logs, "from the plugin", func(r logRecord) bool { return r.Msg == "disk is nearly full" })
	if r.Level != 4 /* slog.LevelWarn */ {
		t.Errorf("level %v, want WARN", r.Level)
	}
	for k, want := range map[string]string{"n": "7", "plugin_kind": "echo", "plugin_name": "echo"} {
		if r.Attrs[k] != want {
			t.Errorf("attribute %s = %q, want %q (all: %v)", k, r.Attrs[k], want, r.Attrs)
		}
	}
}

// TestKillWithCallsInFlight kills the plugin while calls wait in it: they
// must fail with ErrUnavailable well before their deadline, and the plugin
// must come back as a new process.
func TestKillWithCallsInFlight(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, logs := startEcho(t, ctx)
	oldPid := p.Pid()

	const calls = 4
	callCtx, cancelCalls := context.WithTimeout(ctx, 20*time.Second)
	defer cancelCalls()
	errs := make(chan error, calls)
	for range calls {
		go func() {
			_, err := echo(callCtx, p, "block")
			errs <- err
		}()
	}
	for i := range calls {
		waitLog(ctx, t, logs, "blocking #"+strconv.Itoa(i), func(r logRecord) bool { return r.Msg == "blocking" })
	}
	if err := syscall.Kill(oldPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for range calls {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("in-flight call: %v, want ErrUnavailable", err)
			}
			if !strings.HasPrefix(err.Error(), `echo plugin "echo": `) {
				t.Errorf("error %q does not name the plugin", err)
			}
		case <-callCtx.Done():
			t.Fatalf("in-flight calls still hang after the plugin was killed")
		}
	}

	got, err := echo(ctx, p, "pid")
	if err != nil {
		t.Fatalf("call after restart: %v", err)
	}
	if got == strconv.Itoa(oldPid) || p.Pid() == oldPid || p.Pid() == 0 {
		t.Fatalf("plugin answered from pid %s (Pid() %d), want a new process; old pid %d", got, p.Pid(), oldPid)
	}
	r := waitLog(ctx, t, logs, "about the restart", func(r logRecord) bool { return r.Msg == "plugin process ended, restarting" })
	if r.Attrs["pid"] != strconv.Itoa(oldPid) || !strings.Contains(r.Attrs["exit"], "killed") {
		t.Errorf("restart record %v, want pid %d and an exit reason that says killed", r.Attrs, oldPid)
	}
}

// TestGetWaitsForRestart kills an idle plugin: Get must not hand out the dead
// implementation for good, and calls succeed again on a new process.
func TestGetWaitsForRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, _ := startEcho(t, ctx)
	for round := range 3 {
		oldPid := p.Pid()
		if err := syscall.Kill(oldPid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// A call may still reach the dying process and fail; it must then
		// fail as unavailable, and a later one must succeed.
		var got string
		var err error
		for {
			got, err = echo(ctx, p, "pid")
			if err == nil || !errors.Is(err, ErrUnavailable) || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got == strconv.Itoa(oldPid) {
			t.Fatalf("round %d: answered by the killed process %d", round, oldPid)
		}
	}
}

func TestGetBoundedByContextWhileRestarting(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, _ := startEcho(t, ctx)
	// Make the next restart wait long enough to be observed.
	p.mu.Lock()
	p.backoff = backoff{min: time.Hour, max: time.Hour, healthy: time.Hour}
	p.mu.Unlock()
	pid := p.Pid()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	for {
		_, err := echo(short, p, "x")
		if err == nil {
			continue // the dead process was not noticed yet
		}
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			break // Get gave up waiting for the restart
		}
	}
	// Close while the supervisor waits out the backoff returns promptly.
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("Close hangs while a restart is pending")
	}
}

func TestStartFailures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	notPlugin := filepath.Join(dir, "not-a-plugin")
	if err := os.WriteFile(notPlugin, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cmd  Command
		want []string
	}{
		{"missing executable", Command{Kind: echoKind, Name: "gone", Path: filepath.Join(dir, "gone")}, []string{`echo plugin "gone"`, "no such file"}},
		{"not a plugin", Command{Kind: echoKind, Name: "sh", Path: notPlugin}, []string{`echo plugin "sh"`, "hi"}},
		{"prints before handshake", TestCommand(echoKind, "chatty"), []string{`echo plugin "chatty"`, "hello"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Start[echoer](ctx, tc.cmd, &echoPlugin{}, nil)
			if err == nil {
				p.Close()
				t.Fatal("Start succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestStartAbortedByContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Start[echoer](ctx, TestCommand(echoKind, "hang"), &echoPlugin{}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Start took %v to give up", d)
	}
}

func TestCleanupAll(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, _ := startEcho(t, ctx)
	b, _ := startEcho(t, ctx)
	pids := []int{a.Pid(), b.Pid()}
	CleanupAll()
	for _, pid := range pids {
		eventually(t, 10*time.Second, func() (bool, string) { return processGone(pid) })
	}
	for _, p := range []*Process[echoer]{a, b} {
		if _, err := p.Get(ctx); !errors.Is(err, ErrClosed) {
			t.Errorf("Get after CleanupAll: %v, want ErrClosed", err)
		}
	}
}

func TestConcurrentCallsAndRestarts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, _ := startEcho(t, ctx)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := echo(ctx, p, "x"); err != nil && !errors.Is(err, ErrUnavailable) {
					t.Errorf("call: %v", err)
					return
				}
			}
		}()
	}
	for range 3 {
		pid := p.Pid()
		if pid != 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if _, err := echo(ctx, p, "x"); err != nil && !errors.Is(err, ErrUnavailable) {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

// TestRestartFailureIsReported makes restarts fail (the executable is
// gone): Get must give up at its deadline and say why the start failed,
// and the failures must be logged.
func TestRestartFailureIsReported(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, logs := startEcho(t, ctx)
	p.mu.Lock()
	p.cmd.Path = filepath.Join(t.TempDir(), "deleted-plugin")
	p.mu.Unlock()
	if err := syscall.Kill(p.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitLog(ctx, t, logs, "about the failed restart", func(r logRecord) bool {
		return r.Msg == "plugin restart failed" && strings.Contains(r.Attrs["error"], "deleted-plugin")
	})
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	_, err := p.Get(short)
	for _, want := range []error{ErrUnavailable, context.DeadlineExceeded} {
		if !errors.Is(err, want) {
			t.Errorf("Get: %v, want it to match %v", err, want)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "deleted-plugin") {
		t.Errorf("Get: %v, want the reason the restart failed", err)
	}
}
