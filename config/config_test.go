package config

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

// ignoreBodies leaves out what cmp cannot compare: plugin bodies and ranges.
var ignoreBodies = cmpopts.IgnoreFields(Plugin{}, "Config", "DeclRange")

func TestLoadNoFileIsDefault(t *testing.T) {
	cfg, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Name:      "default",
		DataDir:   "./data",
		LogLevel:  slog.LevelInfo,
		LogFormat: "text",
		NATS:      NATS{Listen: "127.0.0.1:4222", StartTimeout: 10 * time.Second},
		JetStream: JetStream{Stream: "COREBRIDGE", Replicas: 1, DuplicateWindow: 2 * time.Minute},
		Limits:    Limits{MaxValueSize: 1 << 20},
		Corestore: Corestore{Storage: "bolt", BlockCache: 64 << 20},
		Plugins:   Plugins{Dir: "./plugins"},
	}
	if diff := cmp.Diff(want, cfg, ignoreBodies); diff != "" {
		t.Errorf("Load(\"\") differs from the documented defaults (-want +got):\n%s", diff)
	}
	if !cfg.NATS.Embedded() {
		t.Error("default configuration does not run an embedded server")
	}
	if got := cfg.ServerName(); got != "default" {
		t.Errorf("ServerName() = %q, want %q", got, "default")
	}
	if got := cfg.Limits.MaxPayload(); got < int32(cfg.Limits.MaxValueSize) {
		t.Errorf("MaxPayload() = %d, less than MaxValueSize %d", got, cfg.Limits.MaxValueSize)
	}
}

func TestEmptyFileIsDefault(t *testing.T) {
	cfg, err := Parse(nil, "empty.hcl")
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.File = "empty.hcl"
	if diff := cmp.Diff(want, cfg, ignoreBodies); diff != "" {
		t.Errorf("empty file (-want +got):\n%s", diff)
	}
}

// TestExampleShowsDefaults keeps config.example.hcl honest: it must decode,
// and every value it shows must be the default.
func TestExampleShowsDefaults(t *testing.T) {
	path := filepath.Join("..", "config.example.hcl")
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("config.example.hcl does not load: %v", err)
	}
	want := Default()
	want.File = path
	got := *cfg
	got.Plugins.Encodings, got.Plugins.Storage = nil, nil
	if diff := cmp.Diff(want, &got); diff != "" {
		t.Errorf("config.example.hcl differs from Default() (-default +example):\n%s", diff)
	}
	wantPlugins := Plugins{
		Dir:       "./plugins",
		Encodings: []Plugin{{Kind: "encoding", Name: "json"}},
		Storage:   []Plugin{{Kind: "storage", Name: "bolt"}},
	}
	if diff := cmp.Diff(wantPlugins, cfg.Plugins, ignoreBodies); diff != "" {
		t.Errorf("example plugin blocks (-want +got):\n%s", diff)
	}
}

// TestExampleMentionsEverySetting checks that each key this package decodes
// appears in config.example.hcl, commented out or not.
func TestExampleMentionsEverySetting(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "config.example.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{file{}, fileNATS{}, fileTLS{}, fileCluster{}, fileJetStream{},
		fileLimits{}, fileCorestore{}, filePlugins{}, filePlugin{}} {
		for _, key := range hclKeys(v) {
			if !strings.Contains(string(src), key+" ") {
				t.Errorf("config.example.hcl does not document %q (%T)", key, v)
			}
		}
	}
}

func hclKeys(v any) []string {
	schema, _ := gohcl.ImpliedBodySchema(v)
	var keys []string
	for _, a := range schema.Attributes {
		keys = append(keys, a.Name)
	}
	for _, b := range schema.Blocks {
		keys = append(keys, b.Type)
	}
	return keys
}

func TestParseEverything(t *testing.T) {
	t.Setenv("CONFIG_TEST_PASSWORD", "s3cret")
	src := `
name           = "bridge-a"
data_dir       = "/var/lib/corebridge"
subject_prefix = "acme.prod"
log_level      = "DEBUG"
log_format     = "json"

nats {
  listen        = "0.0.0.0:-1"
  server_name   = "a-1"
  user          = "bridge"
  password      = env("CONFIG_TEST_PASSWORD")
  start_timeout = "30s"
  tls {
    cert   = "cert.pem"
    key    = "key.pem"
    ca     = "ca.pem"
    verify = true
  }
  cluster {
    name   = "prod"
    listen = "0.0.0.0:6222"
    routes = ["nats://b:6222", "nats-route://c:6222"]
  }
}

jetstream {
  stream           = "CORES"
  replicas         = 3
  duplicate_window = "5m"
  max_memory       = "1GiB"
  max_storage      = 1000000
}

limits {
  max_value_size = "4MiB"
}

corestore {
  compat      = true
  storage     = "memory"
  block_cache = "16MiB"
}

plugins {
  dir = "/opt/plugins"
  encoding "cbor" {
    path = "/opt/bin/cbor"
    config {
      canonical = true
    }
  }
  storage "memory" {
    in_process = true
  }
}
`
	cfg, err := Parse([]byte(src), "bridge.hcl")
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File:          "bridge.hcl",
		Name:          "bridge-a",
		DataDir:       "/var/lib/corebridge",
		SubjectPrefix: "acme.prod",
		LogLevel:      slog.LevelDebug,
		LogFormat:     "json",
		NATS: NATS{
			Listen:       "0.0.0.0:-1",
			ServerName:   "a-1",
			User:         "bridge",
			Password:     "s3cret",
			StartTimeout: 30 * time.Second,
			TLS:          TLS{Cert: "cert.pem", Key: "key.pem", CA: "ca.pem", Verify: true},
			Cluster: &Cluster{
				Name:   "prod",
				Listen: "0.0.0.0:6222",
				Routes: []string{"nats://b:6222", "nats-route://c:6222"},
			},
		},
		JetStream: JetStream{
			Stream: "CORES", Replicas: 3, DuplicateWindow: 5 * time.Minute,
			MaxMemory: 1 << 30, MaxStorage: 1000000,
		},
		Limits:    Limits{MaxValueSize: 4 << 20},
		Corestore: Corestore{Compat: true, Storage: "memory", BlockCache: 16 << 20},
		Plugins: Plugins{
			Dir:       "/opt/plugins",
			Encodings: []Plugin{{Kind: "encoding", Name: "cbor", Path: "/opt/bin/cbor"}},
			Storage:   []Plugin{{Kind: "storage", Name: "memory", InProcess: true}},
		},
	}
	if diff := cmp.Diff(want, cfg, ignoreBodies); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
	if got := cfg.ServerName(); got != "a-1" {
		t.Errorf("ServerName() = %q, want a-1", got)
	}
	if p, ok := cfg.Plugins.Encoding("cbor"); !ok || p.Path != "/opt/bin/cbor" {
		t.Errorf("Encoding(cbor) = %+v, %v", p, ok)
	}
	if _, ok := cfg.Plugins.StorageBackend("bolt"); ok {
		t.Error("StorageBackend(bolt) found a block that the file does not have")
	}
}

func TestExternalNATS(t *testing.T) {
	src := `
nats {
  url              = "nats://n1:4222, tls://n2:4222"
  credentials_file = "bridge.creds"
  tls {
    ca       = "ca.pem"
    insecure = true
  }
}
`
	cfg, err := Parse([]byte(src), "bridge.hcl")
	if err != nil {
		t.Fatal(err)
	}
	want := NATS{
		URL:             "nats://n1:4222, tls://n2:4222",
		Listen:          DefaultListen,
		CredentialsFile: "bridge.creds",
		TLS:             TLS{CA: "ca.pem", Insecure: true},
		StartTimeout:    DefaultStartTimeout,
	}
	if diff := cmp.Diff(want, cfg.NATS); diff != "" {
		t.Errorf("nats (-want +got):\n%s", diff)
	}
	if cfg.NATS.Embedded() {
		t.Error("Embedded() with a url")
	}
}

// TestPluginConfigBody decodes a plugin's config block against a schema the
// plugin might have, as the plugin host will, and checks that problems in it
// still point into the bridge's file.
func TestPluginConfigBody(t *testing.T) {
	src := `plugins {
  storage "bolt" {
    config {
      file    = "cores.db"
      no_sync = "maybe"
    }
  }
  encoding "json" {}
}
`
	cfg, err := Parse([]byte(src), "bridge.hcl")
	if err != nil {
		t.Fatal(err)
	}
	type boltConfig struct {
		File   string `hcl:"file"`
		NoSync bool   `hcl:"no_sync,optional"`
	}
	p, ok := cfg.Plugins.StorageBackend("bolt")
	if !ok {
		t.Fatal("no storage \"bolt\" block")
	}
	if got, want := p.DeclRange.String(), "bridge.hcl:2,3-17"; got != want {
		t.Errorf("DeclRange = %s, want %s", got, want)
	}
	var bc boltConfig
	diags := gohcl.DecodeBody(p.Config, nil, &bc)
	if !diags.HasErrors() {
		t.Fatal("no_sync = \"maybe\" decoded into a bool without error")
	}
	if got, want := diags.Error(), "bridge.hcl:5,18-23: Unsuitable value type; Unsuitable value: a bool is required"; !strings.HasPrefix(got, want) {
		t.Errorf("plugin diagnostic = %q, want prefix %q", got, want)
	}
	if bc.File != "cores.db" {
		t.Errorf("file = %q, want cores.db", bc.File)
	}

	// A block without config gets an empty body, never nil.
	j, _ := cfg.Plugins.Encoding("json")
	var empty struct{}
	if diags := gohcl.DecodeBody(j.Config, nil, &empty); diags.HasErrors() {
		t.Errorf("empty plugin body: %v", diags)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.hcl"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want an error wrapping os.ErrNotExist", err)
	}
}

func TestLoadReportsFileName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bridge.hcl")
	if err := os.WriteFile(path, []byte("name = \"a\"\nnats {\n  lisen = \"x\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	var diags hcl.Diagnostics
	if !errors.As(err, &diags) {
		t.Fatalf("Load = %v (%T), want hcl.Diagnostics", err, err)
	}
	if want := path + ":3,3-8: Unsupported argument;"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Load error = %q, want prefix %q", err, want)
	}
}
