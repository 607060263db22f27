package config

import (
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// The file's shape as gohcl decodes it. Pointers tell an absent setting
// (take the default) from one written as an empty string or zero (check
// it). Each block keeps its body so checks can point at the attribute they
// reject.

type file struct {
	Name          *string        `hcl:"name,optional"`
	DataDir       *string        `hcl:"data_dir,optional"`
	SubjectPrefix string         `hcl:"subject_prefix,optional"`
	LogLevel      *string        `hcl:"log_level,optional"`
	LogFormat     *string        `hcl:"log_format,optional"`
	NATS          *fileNATS      `hcl:"nats,block"`
	JetStream     *fileJetStream `hcl:"jetstream,block"`
	Limits        *fileLimits    `hcl:"limits,block"`
	Corestore     *fileCorestore `hcl:"corestore,block"`
	Plugins       *filePlugins   `hcl:"plugins,block"`
}

type fileNATS struct {
	URL             string       `hcl:"url,optional"`
	Listen          *string      `hcl:"listen,optional"`
	ServerName      string       `hcl:"server_name,optional"`
	User            string       `hcl:"user,optional"`
	Password        string       `hcl:"password,optional"`
	Token           string       `hcl:"token,optional"`
	NKeySeedFile    string       `hcl:"nkey_seed_file,optional"`
	CredentialsFile string       `hcl:"credentials_file,optional"`
	StartTimeout    *string      `hcl:"start_timeout,optional"`
	TLS             *fileTLS     `hcl:"tls,block"`
	Cluster         *fileCluster `hcl:"cluster,block"`
	Body            hcl.Body     `hcl:",body"`
	DefRange        hcl.Range    `hcl:",def_range"`
}

type fileTLS struct {
	Cert     string    `hcl:"cert,optional"`
	Key      string    `hcl:"key,optional"`
	CA       string    `hcl:"ca,optional"`
	Verify   bool      `hcl:"verify,optional"`
	Insecure bool      `hcl:"insecure,optional"`
	Body     hcl.Body  `hcl:",body"`
	DefRange hcl.Range `hcl:",def_range"`
}

type fileCluster struct {
	Name     *string   `hcl:"name,optional"`
	Listen   string    `hcl:"listen"`
	Routes   []string  `hcl:"routes,optional"`
	Body     hcl.Body  `hcl:",body"`
	DefRange hcl.Range `hcl:",def_range"`
}

type fileJetStream struct {
	Stream          *string  `hcl:"stream,optional"`
	Replicas        *int     `hcl:"replicas,optional"`
	DuplicateWindow *string  `hcl:"duplicate_window,optional"`
	MaxMemory       *string  `hcl:"max_memory,optional"`
	MaxStorage      *string  `hcl:"max_storage,optional"`
	Body            hcl.Body `hcl:",body"`
}

type fileLimits struct {
	MaxValueSize *string  `hcl:"max_value_size,optional"`
	Body         hcl.Body `hcl:",body"`
}

type fileCorestore struct {
	Compat     bool     `hcl:"compat,optional"`
	Storage    *string  `hcl:"storage,optional"`
	BlockCache *string  `hcl:"block_cache,optional"`
	Body       hcl.Body `hcl:",body"`
}

type filePlugins struct {
	Dir       *string      `hcl:"dir,optional"`
	Encodings []filePlugin `hcl:"encoding,block"`
	Storage   []filePlugin `hcl:"storage,block"`
	Body      hcl.Body     `hcl:",body"`
}

type filePlugin struct {
	Name      string            `hcl:"name,label"`
	Path      string            `hcl:"path,optional"`
	InProcess bool              `hcl:"in_process,optional"`
	Config    *filePluginConfig `hcl:"config,block"`
	NameRange hcl.Range         `hcl:"name,label_range"`
	DefRange  hcl.Range         `hcl:",def_range"`
	Body      hcl.Body          `hcl:",body"`
}

type filePluginConfig struct {
	Body hcl.Body `hcl:",remain"`
}

// Load reads and checks the configuration file at path. An empty path
// means no file: Load returns [Default]. A file that does not parse or
// validate gives an error of type [hcl.Diagnostics].
func Load(path string) (*Config, error) {
	if path == "" {
		return Default(), nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(src, path)
}

// Parse checks the HCL configuration in src; filename names it in
// diagnostics. Settings absent from src take their defaults. The error,
// if any, is of type [hcl.Diagnostics].
func Parse(src []byte, filename string) (*Config, error) {
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	var raw file
	diags = gohcl.DecodeBody(f.Body, evalContext(os.LookupEnv), &raw)
	if diags.HasErrors() {
		return nil, withoutEchoes(diags)
	}
	c := &checker{file: filename, top: f.Body}
	cfg := c.build(&raw)
	if c.diags.HasErrors() {
		return nil, c.diags
	}
	cfg.File = filename
	return cfg, nil
}

// evalContext offers env("NAME") to expressions in the file.
func evalContext(lookup func(string) (string, bool)) *hcl.EvalContext {
	env := function.New(&function.Spec{
		Description: "The value of an environment variable, which must be set.",
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			v, ok := lookup(name)
			if !ok {
				return cty.NilVal, fmt.Errorf("environment variable %s is not set", name)
			}
			return cty.StringVal(v), nil
		},
	})
	return &hcl.EvalContext{Functions: map[string]function.Function{"env": env}}
}

// withoutEchoes drops the "value must be known" diagnostic that gohcl adds
// after a failed function call at the same place: the call's own
// diagnostic already says what is wrong.
func withoutEchoes(diags hcl.Diagnostics) hcl.Diagnostics {
	failed := map[hcl.Range]bool{}
	for _, d := range diags {
		if d.Summary == "Error in function call" && d.Subject != nil {
			failed[*d.Subject] = true
		}
	}
	var out hcl.Diagnostics
	for _, d := range diags {
		if d.Summary == "Unsuitable value type" && d.Subject != nil && failed[*d.Subject] {
			continue
		}
		out = append(out, d)
	}
	return out
}
