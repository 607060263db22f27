package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

// TestBadConfig checks that each mistake is reported with the file, line and
// columns of the offending text and a message that says what to do.
func TestBadConfig(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // one prefix per diagnostic, in order
	}{
		{"syntax", "name = \n", []string{`bridge.hcl:1,8-2,1: Invalid expression;`}},
		{"unknown key", "nme = \"x\"\n", []string{`bridge.hcl:1,1-4: Unsupported argument; An argument named "nme" is not expected here.`}},
		{"unknown block", "natz {\n}\n", []string{`bridge.hcl:1,1-5: Unsupported block type;`}},
		{"unknown nested key", "nats {\n  lisen = \"x\"\n}\n", []string{`bridge.hcl:2,3-8: Unsupported argument;`}},
		{"duplicate block", "nats {}\nnats {}\n", []string{`bridge.hcl:2,1-5: Duplicate nats block;`}},
		{"wrong type", "jetstream {\n  replicas = \"three\"\n}\n", []string{`bridge.hcl:2,15-20: Unsuitable value type; Unsuitable value: a number is required`}},
		{"wrong type bool", "corestore {\n  compat = \"yes\"\n}\n", []string{`bridge.hcl:2,13-16: Unsuitable value type; Unsuitable value: a bool is required`}},
		{"name with dot", "name = \"a.b\"\n", []string{`bridge.hcl:1,8-13: Invalid name; name is the store name in store.<name>.* subjects and must be one subject token: "a.b" contains '.'`}},
		{"empty name", "name = \"\"\n", []string{`bridge.hcl:1,8-10: Invalid name;`}},
		{"empty data_dir", "data_dir = \"\"\n", []string{`bridge.hcl:1,12-14: Invalid data_dir;`}},
		{"prefix trailing dot", "subject_prefix = \"acme.\"\n", []string{`bridge.hcl:1,18-25: Invalid subject_prefix; subject_prefix "acme." must be tokens joined by single dots`}},
		{"prefix wildcard", "subject_prefix = \"a.*\"\n", []string{`bridge.hcl:1,18-23: Invalid subject_prefix;`}},
		{"log level", "log_level = \"loud\"\n", []string{`bridge.hcl:1,13-19: Invalid log_level; log_level is "loud"; want "debug", "info", "warn" or "error".`}},
		{"log format", "log_format = \"xml\"\n", []string{`bridge.hcl:1,14-19: Invalid log_format;`}},
		{"listen no port", "nats {\n  listen = \"localhost\"\n}\n", []string{`bridge.hcl:2,12-23: Invalid listen address; nats.listen: "localhost" is not host:port; write host:port`}},
		{"listen port 0", "nats {\n  listen = \"127.0.0.1:0\"\n}\n", []string{`bridge.hcl:2,12-25: Invalid listen address; nats.listen: port 0 in "127.0.0.1:0" is not allowed; use -1 for a free port`}},
		{"listen port range", "nats {\n  listen = \":70000\"\n}\n", []string{`bridge.hcl:2,12-20: Invalid listen address; nats.listen: port 70000 in ":70000" is out of range`}},
		{"listen port word", "nats {\n  listen = \"h:http\"\n}\n", []string{`bridge.hcl:2,12-20: Invalid listen address; nats.listen: port "http" in "h:http" is not a number`}},
		{"url scheme", "nats {\n  url = \"http://x:4222\"\n}\n", []string{`bridge.hcl:2,9-24: Invalid url; nats.url: "http://x:4222" has scheme "http"`}},
		{"url and listen", "nats {\n  url    = \"nats://x:4222\"\n  listen = \"127.0.0.1:4222\"\n}\n", []string{`bridge.hcl:3,12-28: Conflicting settings;`}},
		{"start timeout", "nats {\n  start_timeout = \"soon\"\n}\n", []string{`bridge.hcl:2,19-25: Invalid start_timeout; nats.start_timeout is "soon"; want a positive duration`}},
		{"password without user", "nats {\n  password = \"x\"\n}\n", []string{`bridge.hcl:2,14-17: Missing user;`}},
		{"user without password", "nats {\n  user = \"x\"\n}\n", []string{`bridge.hcl:2,10-13: Missing password;`}},
		{"two credentials", "nats {\n  user     = \"u\"\n  password = \"p\"\n  token    = \"t\"\n}\n", []string{`bridge.hcl:4,14-17: Conflicting credentials; nats.user and nats.token are both set; use one way to authenticate.`}},
		{"creds embedded", "nats {\n  credentials_file = \"x.creds\"\n}\n", []string{`bridge.hcl:2,22-31: Credentials file needs nats.url;`}},
		{"tls embedded without cert", "nats {\n  tls {\n    ca = \"ca.pem\"\n  }\n}\n", []string{`bridge.hcl:2,3-6: Missing certificate;`}},
		{"tls cert without key", "nats {\n  url = \"nats://x:1\"\n  tls {\n    cert = \"c.pem\"\n  }\n}\n", []string{`bridge.hcl:4,12-19: Missing key;`}},
		{"tls verify without ca", "nats {\n  tls {\n    cert   = \"c\"\n    key    = \"k\"\n    verify = true\n  }\n}\n", []string{`bridge.hcl:5,14-18: Missing ca;`}},
		{"tls insecure embedded", "nats {\n  tls {\n    cert     = \"c\"\n    key      = \"k\"\n    insecure = true\n  }\n}\n", []string{`bridge.hcl:5,16-20: Setting needs nats.url;`}},
		{"tls verify external", "nats {\n  url = \"nats://x:1\"\n  tls {\n    verify = true\n  }\n}\n", []string{`bridge.hcl:4,14-18: Setting needs an embedded server;`}},
		{"cluster without listen", "name = \"a\"\nnats {\n  cluster {\n  }\n}\n", []string{`bridge.hcl:3,11-11: Missing required argument; The argument "listen" is required`}},
		{"cluster bad route", "name = \"a\"\nnats {\n  cluster {\n    listen = \":6222\"\n    routes = [\"b:6222\"]\n  }\n}\n", []string{`bridge.hcl:5,14-24: Invalid route; nats.cluster.routes: "b:6222" is not a URL like nats://host:port.`}},
		{"cluster with url", "name = \"a\"\nnats {\n  url = \"nats://x:1\"\n  cluster {\n    listen = \":6222\"\n  }\n}\n", []string{`bridge.hcl:4,3-10: Cluster needs an embedded server;`}},
		{"cluster default name", "nats {\n  cluster {\n    listen = \":6222\"\n  }\n}\n", []string{`bridge.hcl:2,3-10: Missing name; every member of an embedded cluster needs its own server name`}},
		{"replicas zero", "jetstream {\n  replicas = 0\n}\n", []string{`bridge.hcl:2,14-15: Invalid replicas; jetstream.replicas is 0; JetStream keeps 1 to 5 copies of a stream.`}},
		{"replicas six", "name = \"a\"\nnats {\n  cluster {\n    listen = \":6222\"\n  }\n}\njetstream {\n  replicas = 6\n}\n", []string{`bridge.hcl:8,14-15: Invalid replicas;`}},
		{"replicas without cluster", "jetstream {\n  replicas = 3\n}\n", []string{`bridge.hcl:2,14-15: Replicas need a cluster;`}},
		{"stream name", "jetstream {\n  stream = \"A.B\"\n}\n", []string{`bridge.hcl:2,12-17: Invalid stream name;`}},
		{"duplicate window", "jetstream {\n  duplicate_window = \"-1s\"\n}\n", []string{`bridge.hcl:2,22-27: Invalid duplicate_window;`}},
		{"max memory", "jetstream {\n  max_memory = \"lots\"\n}\n", []string{`bridge.hcl:2,16-22: Invalid max_memory; jetstream.max_memory: "lots" is not a size`}},
		{"value size too big", "limits {\n  max_value_size = \"64MiB\"\n}\n", []string{`bridge.hcl:2,20-27: Invalid max_value_size; limits.max_value_size is 67108864 bytes; it must be between 1 and 33554432 (32MiB).`}},
		{"value size zero", "limits {\n  max_value_size = 0\n}\n", []string{`bridge.hcl:2,20-21: Invalid max_value_size;`}},
		{"value size unit", "limits {\n  max_value_size = \"1 parsec\"\n}\n", []string{`bridge.hcl:2,20-30: Invalid max_value_size;`}},
		{"storage name", "corestore {\n  storage = \"a/b\"\n}\n", []string{`bridge.hcl:2,13-18: Invalid storage;`}},
		{"block cache", "corestore {\n  block_cache = \"lots\"\n}\n", []string{`bridge.hcl:2,17-23: Invalid block_cache; corestore.block_cache: "lots" is not a size; write a whole number of bytes or one with a unit, e.g. 1048576 or "1MiB"; 0 disables the cache.`}},
		{"block cache negative", "corestore {\n  block_cache = -1\n}\n", []string{`bridge.hcl:2,17-19: Invalid block_cache;`}},
		{"block cache huge", "corestore {\n  block_cache = \"9999999TiB\"\n}\n", []string{`bridge.hcl:2,17-29: Invalid block_cache; corestore.block_cache: size "9999999TiB" is too large; 0 disables the cache.`}},
		{"plugins dir", "plugins {\n  dir = \"\"\n}\n", []string{`bridge.hcl:2,9-11: Invalid dir;`}},
		{"plugin name", "plugins {\n  encoding \"../x\" {}\n}\n", []string{`bridge.hcl:2,12-18: Invalid plugin name;`}},
		{"plugin duplicate", "plugins {\n  storage \"bolt\" {}\n  storage \"bolt\" {}\n}\n", []string{`bridge.hcl:3,3-17: Duplicate storage block; storage "bolt" is already configured at bridge.hcl:2,3-17.`}},
		{"plugin unknown key", "plugins {\n  encoding \"json\" {\n    indent = 2\n  }\n}\n", []string{`bridge.hcl:3,5-11: Unsupported argument;`}},
		{"plugin no label", "plugins {\n  encoding {}\n}\n", []string{`bridge.hcl:2,12-13: Missing name for encoding;`}},
		{"env unset", "nats {\n  token = env(\"CONFIG_TEST_UNSET\")\n}\n", []string{`bridge.hcl:2,11-15: Error in function call; Call to function "env" failed: environment variable CONFIG_TEST_UNSET is not set.`}},
		{"several at once", "name = \"a b\"\njetstream {\n  replicas = 0\n}\n", []string{`bridge.hcl:1,8-13: Invalid name;`, `bridge.hcl:3,14-15: Invalid replicas;`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.src), "bridge.hcl")
			if err == nil {
				t.Fatalf("Parse accepted:\n%s\ngot %+v", tt.src, cfg)
			}
			if cfg != nil {
				t.Errorf("Parse returned a config with its error")
			}
			var diags hcl.Diagnostics
			if !errors.As(err, &diags) {
				t.Fatalf("error %v is %T, want hcl.Diagnostics", err, err)
			}
			var got []string
			for _, d := range diags {
				got = append(got, d.Error())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d diagnostics, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("diagnostic %d:\n got: %s\nwant: %s...", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseListen(t *testing.T) {
	tests := []struct {
		in   string
		host string
		port int
		err  bool
	}{
		{"127.0.0.1:4222", "127.0.0.1", 4222, false},
		{":4222", "", 4222, false},
		{"[::1]:-1", "::1", -1, false},
		{"0.0.0.0:65535", "0.0.0.0", 65535, false},
		{"localhost", "", 0, true},
		{"h:0", "", 0, true},
		{"h:-2", "", 0, true},
		{"h:65536", "", 0, true},
		{"h:x", "", 0, true},
		{"::1:4222", "", 0, true},
	}
	for _, tt := range tests {
		host, port, err := ParseListen(tt.in)
		if (err != nil) != tt.err || host != tt.host || port != tt.port {
			t.Errorf("ParseListen(%q) = %q, %d, %v; want %q, %d, error %v", tt.in, host, port, err, tt.host, tt.port, tt.err)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"0", 0, false},
		{"1048576", 1 << 20, false},
		{"1MiB", 1 << 20, false},
		{"1mib", 1 << 20, false},
		{"1 MiB", 1 << 20, false},
		{"512KiB", 512 << 10, false},
		{"2K", 2 << 10, false},
		{"1MB", 1000000, false},
		{"3GB", 3000000000, false},
		{"1TiB", 1 << 40, false},
		{"10B", 10, false},
		{"", 0, true},
		{"MiB", 0, true},
		{"1.5MiB", 0, true},
		{"-1", 0, true},
		{"1 parsec", 0, true},
		{"99999999999TiB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestEnvFunction(t *testing.T) {
	t.Setenv("CONFIG_TEST_NAME", "from-env")
	cfg, err := Parse([]byte(`name = env("CONFIG_TEST_NAME")`), "bridge.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("from-env", cfg.Name); diff != "" {
		t.Errorf("name (-want +got):\n%s", diff)
	}
}
