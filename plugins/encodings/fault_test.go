package encodings_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corebridge/corebridge/plugins"
	"github.com/corebridge/corebridge/plugins/encodings"
)

func openProcess(t *testing.T, ctx context.Context, name string) encodings.Encoding {
	t.Helper()
	logger, _ := captureLogs(t)
	return openProcessWithLogger(t, ctx, name, logger)
}

func openProcessWithLogger(t *testing.T, ctx context.Context, name string, logger *slog.Logger) encodings.Encoding {
	t.Helper()
	cmd := plugins.TestCommand(plugins.KindEncoding, name)
	e, closer, err := encodings.Open(ctx, encodings.Spec{Builtins: testRegistry(nil), Name: name, Command: &cmd}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closer.Close() })
	return e
}

// TestKilledPluginFailsCallsInFlight kills an encoding plugin while calls
// wait inside it: each must fail, as unavailable, long before its deadline;
// then the plugin must come back as a new process and serve calls again.
func TestKilledPluginFailsCallsInFlight(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logger, logs := captureLogs(t)
	e := openProcessWithLogger(t, ctx, "stall", logger)
	oldPid := encodings.Pid(e)

	const calls = 3
	callCtx, cancelCalls := context.WithTimeout(ctx, 30*time.Second)
	defer cancelCalls()
	errs := make(chan error, calls)
	for range calls {
		go func() {
			_, err := e.Encode(callCtx, "", [][]byte{[]byte("stall")})
			errs <- err
		}()
	}
	for stalled := 0; stalled < calls; {
		select {
		case msg := <-logs:
			if msg == "stalling" {
				stalled++
			}
		case <-ctx.Done():
			t.Fatalf("only %d of %d calls reached the plugin", stalled, calls)
		}
	}
	if err := syscall.Kill(oldPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	for range calls {
		select {
		case err := <-errs:
			if !errors.Is(err, plugins.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("in-flight call: %v, want plugins.ErrUnavailable", err)
			}
			if !strings.HasPrefix(err.Error(), `encoding plugin "stall": `) {
				t.Errorf("error %q does not name the plugin", err)
			}
		case <-callCtx.Done():
			t.Fatal("calls in flight still hang after the plugin was killed")
		}
	}
	t.Logf("in-flight calls failed %v after the kill", time.Since(killed))

	got, err := encodeRetryingUnavailable(ctx, e, "after")
	if err != nil || got != "after" {
		t.Fatalf("call after the restart: %q, %v", got, err)
	}
	if pid := encodings.Pid(e); pid == oldPid || pid == 0 {
		t.Errorf("pid after restart %d, old pid %d: want a new process", pid, oldPid)
	}
}

// encodeRetryingUnavailable encodes one value, retrying while the plugin is
// unavailable (a call may still reach a process that is dying).
func encodeRetryingUnavailable(ctx context.Context, e encodings.Encoding, value string) (string, error) {
	for {
		out, err := e.Encode(ctx, "", [][]byte{[]byte(value)})
		if err == nil {
			return string(out[0]), nil
		}
		if !errors.Is(err, plugins.ErrUnavailable) || ctx.Err() != nil {
			return "", err
		}
	}
}

// TestKilledJSONPluginComesBack kills the json builtin's process between
// calls, three times: calls fail at most as unavailable and then succeed on
// a new process.
func TestKilledJSONPluginComesBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := openProcess(t, ctx, "json")
	pids := map[int]bool{}
	for round := range 3 {
		pid := encodings.Pid(e)
		if pids[pid] {
			t.Fatalf("round %d: pid %d was used before", round, pid)
		}
		pids[pid] = true
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		got, err := encodeRetryingUnavailable(ctx, e, `{ "a" : 1 }`)
		if err != nil || got != `{"a":1}` {
			t.Fatalf("round %d: %q, %v", round, got, err)
		}
	}
}

// TestKilledHostLeavesNoPlugin kills a host process with SIGKILL, which it
// cannot catch, and expects its plugin process to die with it.
func TestKilledHostLeavesNoPlugin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	host := exec.CommandContext(ctx, exe)
	host.Env = append(os.Environ(), hostEnv+"=json", "GORACE=atexit_sleep_ms=0")
	host.Stderr = os.Stderr
	stdin, err := host.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		host.Process.Kill()
		host.Wait()
		t.Fatalf("reading the plugin pid from the host: %v", err)
	}
	var pluginPid int
	if _, err := fmt.Sscanf(line, "pid %d", &pluginPid); err != nil || pluginPid == 0 {
		t.Fatalf("host said %q", line)
	}
	if gone, state := processGone(pluginPid); gone {
		t.Fatalf("plugin not running before the host was killed: %s", state)
	}
	if err := host.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = host.Wait()
	eventually(t, 10*time.Second, func() (bool, string) { return processGone(pluginPid) })
}
