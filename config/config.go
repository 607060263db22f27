package config

import (
	"log/slog"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Defaults, as config.example.hcl documents them.
const (
	DefaultName            = "default"
	DefaultDataDir         = "./data"
	DefaultListen          = "127.0.0.1:4222"
	DefaultPluginsDir      = "./plugins"
	DefaultStorage         = "bolt"
	DefaultStream          = "COREBRIDGE"
	DefaultReplicas        = 1
	DefaultDuplicateWindow = 2 * time.Minute
	DefaultStartTimeout    = 10 * time.Second
	DefaultClusterName     = "corebridge"
	DefaultMaxValueSize    = 1 << 20  // 1 MiB
	DefaultBlockCache      = 64 << 20 // 64 MiB
	DefaultLogFormat       = "text"

	// MaxValueSizeLimit is the largest limits.max_value_size accepted: a
	// value travels whole in one NATS message, and NATS servers are not
	// built for messages much larger than this.
	MaxValueSizeLimit = 32 << 20
	// PayloadHeadroom is what an embedded server's max_payload allows on
	// top of limits.max_value_size, for the framing that travels with a
	// value (batch headers, replication metadata).
	PayloadHeadroom = 64 << 10
)

// Config is a checked bridge configuration. The zero value is not useful;
// start from [Default], [Load] or [Parse].
type Config struct {
	// File is the file this configuration was read from; empty for
	// [Default].
	File string

	// Name is the store name in store.<name>.* subjects. It is a single
	// subject token.
	Name string
	// DataDir holds the primary key, the storage and the embedded
	// server's JetStream store.
	DataDir string
	// SubjectPrefix is put, followed by a dot, in front of every subject
	// the bridge uses; empty for none.
	SubjectPrefix string
	// LogLevel is the lowest level logged.
	LogLevel slog.Level
	// LogFormat is "text" or "json".
	LogFormat string

	NATS      NATS
	JetStream JetStream
	Limits    Limits
	Corestore Corestore
	Plugins   Plugins
}

// NATS says whether to run an embedded nats-server or connect to an
// existing one, and how to authenticate.
type NATS struct {
	// URL is the existing NATS to connect to (comma-separated URLs for a
	// cluster). Empty: run an embedded nats-server.
	URL string
	// Listen is the embedded server's client address, host:port; port -1
	// picks a free port.
	Listen string
	// ServerName names the embedded server; it must be unique within an
	// embedded cluster and stable across restarts. Defaults to Name.
	ServerName string

	// Credentials. At most one of user/password, token, NKey seed file and
	// credentials file is set. With an embedded server they are what
	// clients must present (the bridge's own connection uses them too);
	// with URL they are what the bridge presents.
	User            string
	Password        string
	Token           string
	NKeySeedFile    string
	CredentialsFile string // URL only: a .creds file (JWT and NKey seed)

	TLS TLS
	// Cluster is non-nil when the embedded server joins other bridges'
	// embedded servers in a NATS cluster.
	Cluster *Cluster

	// StartTimeout bounds how long the bridge waits at start for the
	// embedded server, the connection and JetStream.
	StartTimeout time.Duration
}

// Embedded reports whether the bridge runs its own nats-server.
func (n NATS) Embedded() bool { return n.URL == "" }

// TLS holds certificate files. With an embedded server, Cert and Key are
// the server's certificate and, with Verify, clients must present a
// certificate signed by CA. With URL, Cert and Key are the client
// certificate, CA verifies the server and Insecure skips that check.
type TLS struct {
	Cert     string
	Key      string
	CA       string
	Verify   bool // embedded only
	Insecure bool // URL only
}

// Enabled reports whether any TLS setting is present.
func (t TLS) Enabled() bool {
	return t.Cert != "" || t.Key != "" || t.CA != "" || t.Verify || t.Insecure
}

// Cluster lets the embedded servers of several bridges form one NATS
// cluster, with JetStream clustered across them.
type Cluster struct {
	// Name is the NATS cluster name, the same on every member.
	Name string
	// Listen is the address for routes from other members, host:port.
	Listen string
	// Routes are the other members' route URLs (nats://host:port).
	Routes []string
}

// JetStream configures the replication stream.
type JetStream struct {
	// Stream is the name of the one stream that holds every replicated core.
	Stream string
	// Replicas is the stream's replication factor (1 to 5).
	Replicas int
	// DuplicateWindow is how long the stream remembers Nats-Msg-Id values
	// for idempotent publishes.
	DuplicateWindow time.Duration
	// MaxMemory and MaxStorage cap the embedded server's JetStream
	// resources in bytes; 0 lets the server choose.
	MaxMemory  int64
	MaxStorage int64
}

// Limits bounds what clients may send.
type Limits struct {
	// MaxValueSize is the largest value a client may append, in bytes;
	// larger values are answered with 413.
	MaxValueSize int64
}

// MaxPayload is the max_payload an embedded server is given: the largest
// value plus [PayloadHeadroom].
func (l Limits) MaxPayload() int32 {
	return int32(l.MaxValueSize + PayloadHeadroom)
}

// Corestore configures the store of cores.
type Corestore struct {
	// Compat selects corestore 6 keys (core key = ed25519 public key)
	// instead of manifest keys.
	Compat bool
	// Storage names the storage backend, a builtin ("bolt", "memory") or
	// a plugin.
	Storage string
	// BlockCache is the budget in bytes of the block cache that all cores
	// share in front of the storage backend; 0 disables it.
	BlockCache int64
}

// Plugins says where external plugins live and how each plugin is run and
// configured.
type Plugins struct {
	// Dir holds external plugin executables named
	// corebridge-encoding-<name> and corebridge-storage-<name>.
	Dir       string
	Encodings []Plugin
	Storage   []Plugin
}

// Encoding returns the encoding block for name, if the file has one.
func (p Plugins) Encoding(name string) (Plugin, bool) { return find(p.Encodings, name) }

// StorageBackend returns the storage block for name, if the file has one.
func (p Plugins) StorageBackend(name string) (Plugin, bool) { return find(p.Storage, name) }

func find(ps []Plugin, name string) (Plugin, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p, true
		}
	}
	return Plugin{}, false
}

// Plugin is one encoding "name" {...} or storage "name" {...} block.
type Plugin struct {
	// Kind is "encoding" or "storage".
	Kind string
	// Name is the block's label.
	Name string
	// Path is the plugin executable; empty means the builtin of that name
	// or Dir/corebridge-<kind>-<name>.
	Path string
	// InProcess runs a builtin inside the bridge instead of as a plugin
	// process.
	InProcess bool
	// Config is the undecoded body of the block's config {...} block, to be
	// decoded against the plugin's schema; an empty body when there is
	// none. It is never nil.
	Config hcl.Body
	// DeclRange is where the block is declared, for diagnostics about it.
	DeclRange hcl.Range
}

// Default returns the configuration of a bridge started without a file.
func Default() *Config {
	return &Config{
		Name:      DefaultName,
		DataDir:   DefaultDataDir,
		LogLevel:  slog.LevelInfo,
		LogFormat: DefaultLogFormat,
		NATS: NATS{
			Listen:       DefaultListen,
			StartTimeout: DefaultStartTimeout,
		},
		JetStream: JetStream{
			Stream:          DefaultStream,
			Replicas:        DefaultReplicas,
			DuplicateWindow: DefaultDuplicateWindow,
		},
		Limits:    Limits{MaxValueSize: DefaultMaxValueSize},
		Corestore: Corestore{Storage: DefaultStorage, BlockCache: DefaultBlockCache},
		Plugins:   Plugins{Dir: DefaultPluginsDir},
	}
}

// ServerName is the embedded server's name: NATS.ServerName, or Name.
func (c *Config) ServerName() string {
	if c.NATS.ServerName != "" {
		return c.NATS.ServerName
	}
	return c.Name
}
