package plugins

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBuiltinCommand(t *testing.T) {
	c := BuiltinCommand(KindEncoding, "json")
	exe, _ := os.Executable()
	want := Command{Kind: KindEncoding, Name: "json", Path: exe, Args: []string{"plugin", "serve", "encoding", "json"}}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("BuiltinCommand (-want +got):\n%s", diff)
	}
	if got := c.String(); got != `encoding plugin "json"` {
		t.Errorf("String() = %q", got)
	}
}

func TestExternalCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("corebridge-encoding-cbor", 0o755)
	write("corebridge-storage-plain", 0o644)
	if err := os.Mkdir(filepath.Join(dir, "corebridge-storage-dir"), 0o755); err != nil {
		t.Fatal(err)
	}

	c, err := ExternalCommand(dir, KindEncoding, "cbor")
	if err != nil {
		t.Fatalf("ExternalCommand: %v", err)
	}
	want := Command{Kind: KindEncoding, Name: "cbor", Path: filepath.Join(dir, "corebridge-encoding-cbor")}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("ExternalCommand (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		kind Kind
		name string
		want string
	}{
		{KindEncoding, "missing", "no file corebridge-encoding-missing in the plugin directory"},
		{KindStorage, "plain", "not executable"},
		{KindStorage, "dir", "not a regular file"},
		{KindEncoding, "../cbor", "cannot be part of a file name"},
		{KindEncoding, "", "empty plugin name"},
	} {
		_, err := ExternalCommand(dir, tc.kind, tc.name)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ExternalCommand(%s, %q): %v, want an error containing %q", tc.kind, tc.name, err, tc.want)
		}
		if tc.name != "" && !strings.Contains(tc.name, "/") && !errors.Is(err, ErrNotFound) {
			t.Errorf("ExternalCommand(%s, %q): %v does not match ErrNotFound", tc.kind, tc.name, err)
		}
	}
}

func TestTestPlugin(t *testing.T) {
	c := TestCommand(KindStorage, "memory")
	t.Setenv(TestPluginEnv, strings.TrimPrefix(c.Env[0], TestPluginEnv+"="))
	kind, name, ok := TestPlugin()
	if !ok || kind != KindStorage || name != "memory" {
		t.Errorf("TestPlugin() = %q, %q, %v; want storage, memory, true", kind, name, ok)
	}
	t.Setenv(TestPluginEnv, "nonsense")
	if _, _, ok := TestPlugin(); ok {
		t.Errorf("TestPlugin() accepted %q", "nonsense")
	}
}
