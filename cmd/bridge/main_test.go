package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets scripts run "bridge" as a command: the test binary runs
// main when invoked under that name. A bridge started by a test launches its
// builtin plugins from os.Executable(), which is this test binary, with the
// arguments "plugin serve <kind> <name>": then it serves the plugin.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		main()
	}
	testscript.Main(m, map[string]func(){"bridge": main})
}

// TestScripts runs the end-to-end scripts in testdata/script.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			// A port for a bridge to listen on; config files read it with
			// env("PORT").
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			defer l.Close()
			env.Setenv("PORT", fmt.Sprint(l.Addr().(*net.TCPAddr).Port))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitnats": cmdWaitNATS,
		},
	})
}

// cmdWaitNATS waits until a NATS client can connect to the URL in its
// argument, JetStream answers and a bridge answers $SRV.PING.corebridge
// (from then on its start cannot fail), for at most 20 seconds, and fails
// with the last error otherwise.
func cmdWaitNATS(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitnats URL")
	}
	deadline := time.Now().Add(20 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		nc, err := natsgo.Connect(args[0], natsgo.Timeout(time.Second))
		if err == nil {
			_, err = nc.Request("$JS.API.INFO", nil, time.Second)
			if err == nil {
				_, err = nc.Request("$SRV.PING.corebridge", nil, time.Second)
			}
			nc.Close()
			if err == nil {
				return
			}
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("no NATS with JetStream at %s after 20s: %v", args[0], last)
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.hcl")
	if err := os.WriteFile(bad, []byte("name = \"x\"\njetstream {\n  replicas = 0\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args       []string
		code       int
		stdout     string // substring expected on stdout
		stderr     string // substring expected on stderr
		quietOut   bool   // stdout must be empty
		quietError bool   // stderr must be empty
	}{
		{args: nil, code: 2, stderr: "Usage: bridge <command>", quietOut: true},
		{args: []string{"--help"}, code: 0, stdout: "Commands:", quietError: true},
		{args: []string{"-h"}, code: 0, stdout: "serve ", quietError: true},
		{args: []string{"help"}, code: 0, stdout: "version ", quietError: true},
		{args: []string{"help", "serve"}, code: 0, stdout: "Usage: bridge serve [-config FILE]", quietError: true},
		{args: []string{"help", "nope"}, code: 2, stderr: `unknown command "nope"`, quietOut: true},
		{args: []string{"nope"}, code: 2, stderr: `bridge: unknown command "nope"`, quietOut: true},
		{args: []string{"serve", "-h"}, code: 0, stdout: "-config FILE", quietError: true},
		{args: []string{"serve", "--help"}, code: 0, stdout: "SIGTERM", quietError: true},
		{args: []string{"serve", "-bogus"}, code: 2, stderr: "flag provided but not defined: -bogus", quietOut: true},
		{args: []string{"serve", "extra"}, code: 2, stderr: "unexpected arguments: extra", quietOut: true},
		{args: []string{"serve", "-config", bad}, code: 1, stderr: bad + ":3,14-15: Invalid replicas;", quietOut: true},
		{args: []string{"serve", "-config", filepath.Join(dir, "missing.hcl")}, code: 1, stderr: "no such file or directory", quietOut: true},
		{args: []string{"version"}, code: 0, stdout: "bridge ", quietError: true},
		{args: []string{"version", "-h"}, code: 0, stdout: "Usage: bridge version", quietError: true},
		{args: []string{"version", "x"}, code: 2, stderr: "unexpected arguments: x", quietOut: true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, &stdout, &stderr)
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout does not contain %q:\n%s", tt.stdout, &stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.stderr, &stderr)
			}
			if tt.quietOut && stdout.Len() > 0 {
				t.Errorf("unexpected stdout:\n%s", &stdout)
			}
			if tt.quietError && stderr.Len() > 0 {
				t.Errorf("unexpected stderr:\n%s", &stderr)
			}
		})
	}
}

// TestCommandTable checks the table's invariants: unique names, a summary
// for every visible command, and help that works for each.
func TestCommandTable(t *testing.T) {
	seen := map[string]bool{"help": true}
	for _, c := range commands() {
		if seen[c.name] {
			t.Errorf("command %q appears twice (or shadows help)", c.name)
		}
		seen[c.name] = true
		if !c.hidden && c.summary == "" {
			t.Errorf("command %q has no summary", c.name)
		}
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), []string{c.name, "-h"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "Usage: bridge "+c.name) {
			t.Errorf("bridge %s -h: exit %d\n%s%s", c.name, code, &stdout, &stderr)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeStopsOnCancel runs "bridge serve" in process until it is ready,
// then ends its context as a signal would, and checks a clean exit.
func TestServeStopsOnCancel(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	cfgFile := filepath.Join(dir, "bridge.hcl")
	src := fmt.Sprintf("name = \"t1\"\ndata_dir = %q\nlog_format = \"json\"\nnats {\n  listen = \"127.0.0.1:-1\"\n}\n", dataDir)
	if err := os.WriteFile(cfgFile, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "-config", cfgFile}, &stdout, &stderr) }()

	if err := waitFor(20*time.Second, func() error {
		if !strings.Contains(stderr.String(), `"msg":"bridge ready"`) {
			return fmt.Errorf("no \"bridge ready\" in the log yet")
		}
		return nil
	}, done); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, stderr.String())
	}
	for _, want := range []string{`"name":"t1"`, `"url":"nats://127.0.0.1:`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("ready log does not contain %s:\n%s", want, stderr.String())
		}
	}
	if fi, err := os.Stat(filepath.Join(dataDir, "jetstream")); err != nil || !fi.IsDir() {
		t.Errorf("data_dir/jetstream not created: %v", err)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d after cancel, want 0\nstderr:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not return within 30s of cancel")
	}
	if !strings.Contains(stderr.String(), `"msg":"bridge stopped"`) {
		t.Errorf("no \"bridge stopped\" in the log:\n%s", stderr.String())
	}
	if stdout.String() != "" {
		t.Errorf("serve wrote to stdout: %s", stdout.String())
	}
}

// TestServeJetStreamUnusable points serve at a NATS without JetStream and
// expects exit 1 with an error that says so.
func TestServeJetStreamUnusable(t *testing.T) {
	srv := runPlainServer(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "bridge.hcl")
	src := fmt.Sprintf("data_dir = %q\nnats {\n  url = %q\n}\n", filepath.Join(dir, "data"), srv)
	if err := os.WriteFile(cfgFile, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"serve", "-config", cfgFile}, &stdout, &stderr)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "JetStream is not enabled") {
		t.Errorf("stderr does not say JetStream is not enabled:\n%s", &stderr)
	}
}

// waitFor polls check until it succeeds, stop delivers (the command ended
// early), or the timeout passes; it returns the last error.
func waitFor(timeout time.Duration, check func() error, stop <-chan int) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", timeout, err)
		}
		select {
		case code := <-stop:
			return fmt.Errorf("command exited with %d: %w", code, err)
		case <-tick.C:
		}
	}
}

// runPlainServer starts a nats-server without JetStream and returns its
// client URL.
func runPlainServer(t *testing.T) string {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready after 10s")
	}
	return srv.ClientURL()
}
