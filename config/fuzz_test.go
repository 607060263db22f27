package config

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// diagPrefix is how every diagnostic of a file named bridge.hcl starts:
// file, line and column, as hcl.Diagnostic.Error writes them.
var diagPrefix = regexp.MustCompile(`^bridge\.hcl:[0-9]+,[0-9]+(-([0-9]+,)?[0-9]+)?: `)

// FuzzParse parses arbitrary bytes as a configuration file: Parse never
// panics; it returns a configuration or hcl.Diagnostics, never both and
// never neither; every diagnostic names the file and a line of it; and a
// configuration it accepts passes its own checks. Seeds are the example
// file and small files that reach each block. Run it with
//
//	go test ./config -run '^$' -fuzz '^FuzzParse$' -fuzztime 3m
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("../config.example.hcl")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	for _, s := range []string{
		"",
		"name = \"b1\"\ndata_dir = \"/tmp/x\"\nsubject_prefix = \"acme.prod\"\nlog_level = \"debug\"\nlog_format = \"json\"\n",
		"nats {\n  url = \"nats://a:4222,nats://b:4222\"\n  user = \"u\"\n  password = env(\"HOME\")\n  tls {\n    ca = \"ca.pem\"\n    insecure = true\n  }\n}\n",
		"name = \"a\"\nnats {\n  listen = \"0.0.0.0:-1\"\n  cluster {\n    name = \"c\"\n    listen = \":6222\"\n    routes = [\"nats://b:6222\"]\n  }\n}\njetstream {\n  replicas = 3\n  duplicate_window = \"90s\"\n  max_memory = \"1GiB\"\n}\n",
		"limits {\n  max_value_size = \"4MiB\"\n}\ncorestore {\n  compat = true\n  storage = \"memory\"\n}\n",
		"plugins {\n  dir = \"p\"\n  encoding \"cbor\" {\n    path = \"./cbor\"\n    config {\n      x = 1\n    }\n  }\n  storage \"bolt\" {\n    in_process = true\n  }\n}\n",
		"name = \"${env(\"USER\")}-x\"\n",
		"nats {\n  start_timeout = \"1h\"\n  nkey_seed_file = \"seed.nk\"\n}\n",
		"jetstream { replicas = 1e400 }\n",
		"name = \"a\" name = \"b\"\n",
		"nats {\n  tls {\n    cert = \"c\"\n    key = \"k\"\n    verify = true\n    ca = \"x\"\n  }\n}\n",
		"limits { max_value_size = -1 }\n",
		"name = [for x in [1,2]: x]\n",
		"name = <<EOT\nheredoc\nEOT\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, err := Parse(src, "bridge.hcl")
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v: want exactly one", cfg != nil, err)
		}
		if err != nil {
			var diags hcl.Diagnostics
			if !errors.As(err, &diags) {
				t.Fatalf("error %T is not hcl.Diagnostics: %v", err, err)
			}
			if !diags.HasErrors() {
				t.Fatalf("error without an error diagnostic: %v", err)
			}
			lines := strings.Count(string(src), "\n") + 1
			for _, d := range diags {
				if d.Subject == nil {
					t.Fatalf("diagnostic without a place: %q", d.Error())
				}
				if d.Subject.Filename != "bridge.hcl" || d.Subject.Start.Line < 1 || d.Subject.Start.Line > lines {
					t.Fatalf("diagnostic at %s, outside the file's %d lines: %q", d.Subject, lines, d.Error())
				}
				if !diagPrefix.MatchString(d.Error()) {
					t.Fatalf("diagnostic does not start with file:line,column: %q", d.Error())
				}
			}
			return
		}
		if cfg.File != "bridge.hcl" {
			t.Errorf("File = %q", cfg.File)
		}
		if err := checkParsed(cfg); err != nil {
			t.Fatalf("accepted a configuration that breaks its own rules: %v\n%s", err, src)
		}
	})
}

// checkParsed checks the invariants every accepted configuration holds.
func checkParsed(c *Config) error {
	switch {
	case c.Name == "" || strings.ContainsAny(c.Name, ".*> \t\r\n"):
		return errors.New("name is not one subject token")
	case c.DataDir == "":
		return errors.New("empty data_dir")
	case c.JetStream.Replicas < 1 || c.JetStream.Replicas > 5:
		return errors.New("replicas out of range")
	case c.JetStream.Replicas > 1 && c.NATS.Cluster == nil:
		return errors.New("replicas without a cluster")
	case c.Limits.MaxValueSize < 1 || c.Limits.MaxValueSize > MaxValueSizeLimit:
		return errors.New("max_value_size out of range")
	case c.NATS.StartTimeout <= 0:
		return errors.New("start_timeout not positive")
	case c.JetStream.DuplicateWindow <= 0:
		return errors.New("duplicate_window not positive")
	case c.NATS.URL != "" && c.NATS.Cluster != nil:
		return errors.New("cluster with url")
	case c.NATS.Password != "" && c.NATS.User == "":
		return errors.New("password without user")
	case c.Plugins.Dir == "":
		return errors.New("empty plugins dir")
	}
	for _, p := range append(append([]Plugin(nil), c.Plugins.Encodings...), c.Plugins.Storage...) {
		if p.Config == nil {
			return errors.New("plugin with a nil config body")
		}
	}
	if c.NATS.Embedded() {
		if _, _, err := ParseListen(c.NATS.Listen); err != nil {
			return err
		}
	}
	return nil
}
