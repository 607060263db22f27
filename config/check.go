package config

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// checker turns the decoded file into a Config, collecting one diagnostic
// per bad setting so a person sees every problem at once.
type checker struct {
	file  string
	top   hcl.Body
	diags hcl.Diagnostics
}

// at returns the range of attribute name's value in body, or fallback when
// the attribute is absent.
func (c *checker) at(body hcl.Body, name string, fallback hcl.Range) hcl.Range {
	if body != nil {
		content, _, _ := body.PartialContent(&hcl.BodySchema{
			Attributes: []hcl.AttributeSchema{{Name: name}},
		})
		if content != nil {
			if a, ok := content.Attributes[name]; ok {
				return a.Expr.Range()
			}
		}
	}
	return fallback
}

func (c *checker) fileStart() hcl.Range {
	return hcl.Range{Filename: c.file, Start: hcl.InitialPos, End: hcl.InitialPos}
}

func (c *checker) errorf(rng hcl.Range, summary, format string, args ...any) {
	r := rng
	c.diags = append(c.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  &r,
	})
}

func (c *checker) build(f *file) *Config {
	cfg := Default()
	top := c.fileStart()
	if f.Name != nil {
		cfg.Name = *f.Name
		if err := checkToken(cfg.Name); err != nil {
			c.errorf(c.at(c.top, "name", top), "Invalid name",
				"name is the store name in store.<name>.* subjects and must be one subject token: %v.", err)
		}
	}
	if f.DataDir != nil {
		cfg.DataDir = *f.DataDir
		if cfg.DataDir == "" {
			c.errorf(c.at(c.top, "data_dir", top), "Invalid data_dir",
				"data_dir must name a directory; leave it out for the default %q.", DefaultDataDir)
		}
	}
	cfg.SubjectPrefix = f.SubjectPrefix
	if cfg.SubjectPrefix != "" {
		if err := checkPrefix(cfg.SubjectPrefix); err != nil {
			c.errorf(c.at(c.top, "subject_prefix", top), "Invalid subject_prefix", "subject_prefix %v.", err)
		}
	}
	if f.LogLevel != nil {
		lvl, err := parseLevel(*f.LogLevel)
		if err != nil {
			c.errorf(c.at(c.top, "log_level", top), "Invalid log_level", "%v.", err)
		}
		cfg.LogLevel = lvl
	}
	if f.LogFormat != nil {
		cfg.LogFormat = *f.LogFormat
		if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
			c.errorf(c.at(c.top, "log_format", top), "Invalid log_format",
				"log_format is %q; want \"text\" or \"json\".", cfg.LogFormat)
		}
	}
	if f.NATS != nil {
		c.nats(f.NATS, &cfg.NATS)
	}
	if f.JetStream != nil {
		c.jetStream(f.JetStream, &cfg.JetStream)
	}
	if f.Limits != nil && f.Limits.MaxValueSize != nil {
		rng := c.at(f.Limits.Body, "max_value_size", top)
		n, err := ParseSize(*f.Limits.MaxValueSize)
		switch {
		case err != nil:
			c.errorf(rng, "Invalid max_value_size", "limits.max_value_size: %v.", err)
		case n < 1 || n > MaxValueSizeLimit:
			c.errorf(rng, "Invalid max_value_size",
				"limits.max_value_size is %d bytes; it must be between 1 and %d (32MiB).", n, MaxValueSizeLimit)
		default:
			cfg.Limits.MaxValueSize = n
		}
	}
	if f.Corestore != nil {
		cfg.Corestore.Compat = f.Corestore.Compat
		if f.Corestore.Storage != nil {
			cfg.Corestore.Storage = *f.Corestore.Storage
			if err := checkName(cfg.Corestore.Storage); err != nil {
				c.errorf(c.at(f.Corestore.Body, "storage", top), "Invalid storage",
					"corestore.storage names a storage backend: %v.", err)
			}
		}
		if f.Corestore.BlockCache != nil {
			n, err := ParseSize(*f.Corestore.BlockCache)
			if err != nil {
				c.errorf(c.at(f.Corestore.Body, "block_cache", top), "Invalid block_cache",
					"corestore.block_cache: %v; 0 disables the cache.", err)
			} else {
				cfg.Corestore.BlockCache = n
			}
		}
	}
	if f.Plugins != nil {
		c.plugins(f.Plugins, &cfg.Plugins)
	}
	c.crossChecks(f, cfg)
	return cfg
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("log_level is %q; want \"debug\", \"info\", \"warn\" or \"error\"", s)
}

// checkName reports why s cannot name a plugin: plugin names become parts
// of file names (corebridge-storage-<name>) and of subjects.
func checkName(s string) error {
	if err := checkToken(s); err != nil {
		return err
	}
	if strings.ContainsAny(s, `/\`) {
		return fmt.Errorf("%q contains a path separator", s)
	}
	return nil
}

func (c *checker) duration(body hcl.Body, name, what string, s *string, fallback hcl.Range) (time.Duration, bool) {
	d, err := time.ParseDuration(*s)
	if err != nil || d <= 0 {
		c.errorf(c.at(body, name, fallback), "Invalid "+name,
			"%s is %q; want a positive duration such as \"10s\" or \"2m\".", what, *s)
		return 0, false
	}
	return d, true
}

func (c *checker) nats(f *fileNATS, n *NATS) {
	n.URL = f.URL
	if n.URL != "" {
		if err := checkURLs(n.URL, "nats", "tls", "ws", "wss"); err != nil {
			c.errorf(c.at(f.Body, "url", f.DefRange), "Invalid url", "nats.url: %v.", err)
		}
		if f.Listen != nil {
			c.errorf(c.at(f.Body, "listen", f.DefRange), "Conflicting settings",
				"nats.listen is the embedded server's address, but with nats.url set the bridge runs no embedded server; remove one of them.")
		}
	}
	if f.Listen != nil {
		n.Listen = *f.Listen
		if _, _, err := ParseListen(n.Listen); err != nil {
			c.errorf(c.at(f.Body, "listen", f.DefRange), "Invalid listen address",
				"nats.listen: %v; write host:port, e.g. \"127.0.0.1:4222\".", err)
		}
	}
	n.ServerName = f.ServerName
	if n.ServerName != "" {
		if err := checkToken(n.ServerName); err != nil {
			c.errorf(c.at(f.Body, "server_name", f.DefRange), "Invalid server_name", "nats.server_name: %v.", err)
		}
	}
	n.User, n.Password, n.Token = f.User, f.Password, f.Token
	n.NKeySeedFile, n.CredentialsFile = f.NKeySeedFile, f.CredentialsFile
	c.auth(f, n)
	if f.StartTimeout != nil {
		if d, ok := c.duration(f.Body, "start_timeout", "nats.start_timeout", f.StartTimeout, f.DefRange); ok {
			n.StartTimeout = d
		}
	}
	if f.TLS != nil {
		c.tls(f.TLS, n)
	}
	if f.Cluster != nil {
		n.Cluster = c.cluster(f.Cluster, n)
	}
}

func (c *checker) auth(f *fileNATS, n *NATS) {
	if n.Password != "" && n.User == "" {
		c.errorf(c.at(f.Body, "password", f.DefRange), "Missing user", "nats.password is set without nats.user.")
	}
	if n.User != "" && n.Password == "" {
		c.errorf(c.at(f.Body, "user", f.DefRange), "Missing password", "nats.user is set without nats.password.")
	}
	var set []string
	for _, m := range []struct{ name, value string }{
		{"user", n.User}, {"token", n.Token},
		{"nkey_seed_file", n.NKeySeedFile}, {"credentials_file", n.CredentialsFile},
	} {
		if m.value != "" {
			set = append(set, m.name)
		}
	}
	if len(set) > 1 {
		c.errorf(c.at(f.Body, set[1], f.DefRange), "Conflicting credentials",
			"nats.%s and nats.%s are both set; use one way to authenticate.", set[0], set[1])
	}
	if n.CredentialsFile != "" && n.Embedded() {
		c.errorf(c.at(f.Body, "credentials_file", f.DefRange), "Credentials file needs nats.url",
			"nats.credentials_file is for connecting to an existing NATS (nats.url); an embedded server takes user/password, token or nkey_seed_file.")
	}
}

func (c *checker) tls(f *fileTLS, n *NATS) {
	n.TLS = TLS{Cert: f.Cert, Key: f.Key, CA: f.CA, Verify: f.Verify, Insecure: f.Insecure}
	t := n.TLS
	switch {
	case t.Cert != "" && t.Key == "":
		c.errorf(c.at(f.Body, "cert", f.DefRange), "Missing key", "nats.tls.cert is set without nats.tls.key.")
	case t.Key != "" && t.Cert == "":
		c.errorf(c.at(f.Body, "key", f.DefRange), "Missing cert", "nats.tls.key is set without nats.tls.cert.")
	}
	if n.Embedded() {
		if t.Cert == "" && t.Key == "" {
			c.errorf(f.DefRange, "Missing certificate",
				"an embedded server serves TLS only with nats.tls.cert and nats.tls.key.")
		}
		if t.Verify && t.CA == "" {
			c.errorf(c.at(f.Body, "verify", f.DefRange), "Missing ca",
				"nats.tls.verify needs nats.tls.ca to check client certificates against.")
		}
		if t.Insecure {
			c.errorf(c.at(f.Body, "insecure", f.DefRange), "Setting needs nats.url",
				"nats.tls.insecure skips checking a remote server's certificate; it applies only with nats.url.")
		}
	} else if t.Verify {
		c.errorf(c.at(f.Body, "verify", f.DefRange), "Setting needs an embedded server",
			"nats.tls.verify makes an embedded server require client certificates; with nats.url, set cert and key to present one.")
	}
}

func (c *checker) cluster(f *fileCluster, n *NATS) *Cluster {
	cl := &Cluster{Name: DefaultClusterName, Listen: f.Listen, Routes: f.Routes}
	if !n.Embedded() {
		c.errorf(f.DefRange, "Cluster needs an embedded server",
			"nats.cluster joins the embedded server to other bridges' servers; with nats.url set there is no embedded server.")
	}
	if f.Name != nil {
		cl.Name = *f.Name
		if err := checkToken(cl.Name); err != nil {
			c.errorf(c.at(f.Body, "name", f.DefRange), "Invalid cluster name", "nats.cluster.name: %v.", err)
		}
	}
	if _, _, err := ParseListen(cl.Listen); err != nil {
		c.errorf(c.at(f.Body, "listen", f.DefRange), "Invalid listen address",
			"nats.cluster.listen: %v; write host:port, e.g. \"0.0.0.0:6222\".", err)
	}
	for _, r := range cl.Routes {
		if err := checkURLs(r, "nats", "nats-route", "tls"); err != nil {
			c.errorf(c.at(f.Body, "routes", f.DefRange), "Invalid route", "nats.cluster.routes: %v.", err)
		}
	}
	return cl
}

func (c *checker) jetStream(f *fileJetStream, j *JetStream) {
	fallback := c.fileStart()
	if f.Stream != nil {
		j.Stream = *f.Stream
		if err := checkName(j.Stream); err != nil {
			c.errorf(c.at(f.Body, "stream", fallback), "Invalid stream name", "jetstream.stream: %v.", err)
		}
	}
	if f.Replicas != nil {
		j.Replicas = *f.Replicas
		if j.Replicas < 1 || j.Replicas > 5 {
			c.errorf(c.at(f.Body, "replicas", fallback), "Invalid replicas",
				"jetstream.replicas is %d; JetStream keeps 1 to 5 copies of a stream.", j.Replicas)
		}
	}
	if f.DuplicateWindow != nil {
		if d, ok := c.duration(f.Body, "duplicate_window", "jetstream.duplicate_window", f.DuplicateWindow, fallback); ok {
			j.DuplicateWindow = d
		}
	}
	for _, s := range []struct {
		name string
		raw  *string
		dst  *int64
	}{{"max_memory", f.MaxMemory, &j.MaxMemory}, {"max_storage", f.MaxStorage, &j.MaxStorage}} {
		if s.raw == nil {
			continue
		}
		n, err := ParseSize(*s.raw)
		if err != nil {
			c.errorf(c.at(f.Body, s.name, fallback), "Invalid "+s.name, "jetstream.%s: %v.", s.name, err)
			continue
		}
		*s.dst = n
	}
}

func (c *checker) plugins(f *filePlugins, p *Plugins) {
	if f.Dir != nil {
		p.Dir = *f.Dir
		if p.Dir == "" {
			c.errorf(c.at(f.Body, "dir", c.fileStart()), "Invalid dir",
				"plugins.dir must name a directory; leave it out for the default %q.", DefaultPluginsDir)
		}
	}
	p.Encodings = c.pluginBlocks("encoding", f.Encodings)
	p.Storage = c.pluginBlocks("storage", f.Storage)
}

func (c *checker) pluginBlocks(kind string, blocks []filePlugin) []Plugin {
	var out []Plugin
	seen := map[string]hcl.Range{}
	for _, b := range blocks {
		if err := checkName(b.Name); err != nil {
			c.errorf(b.NameRange, "Invalid plugin name", "%s %q: %v.", kind, b.Name, err)
		}
		if prev, dup := seen[b.Name]; dup {
			c.errorf(b.DefRange, "Duplicate "+kind+" block",
				"%s %q is already configured at %s.", kind, b.Name, prev)
		}
		seen[b.Name] = b.DefRange
		body := hcl.EmptyBody()
		if b.Config != nil {
			body = b.Config.Body
		}
		out = append(out, Plugin{
			Kind: kind, Name: b.Name, Path: b.Path, InProcess: b.InProcess,
			Config: body, DeclRange: b.DefRange,
		})
	}
	return out
}

// crossChecks looks at settings that constrain each other across blocks.
func (c *checker) crossChecks(f *file, cfg *Config) {
	if cfg.NATS.Embedded() && cfg.NATS.Cluster == nil && cfg.JetStream.Replicas > 1 && f.JetStream != nil {
		c.errorf(c.at(f.JetStream.Body, "replicas", c.fileStart()), "Replicas need a cluster",
			"jetstream.replicas = %d needs several NATS servers: add a nats.cluster block, or connect to a cluster with nats.url.",
			cfg.JetStream.Replicas)
	}
	if cfg.NATS.ServerName == "" && cfg.NATS.Cluster != nil && f.Name == nil {
		c.errorf(f.NATS.Cluster.DefRange, "Missing name",
			"every member of an embedded cluster needs its own server name: set name (or nats.server_name) to something unique per bridge.")
	}
}
