# config.example.hcl: every setting of a corebridge bridge, with its default.
#
# Run a bridge with it:   bridge serve -config config.example.hcl
# Without -config, `bridge serve` uses exactly the defaults shown here.
#
# Every uncommented value below IS the default (a test checks this), so a
# real configuration only needs the lines it changes. Unknown keys and values
# of the wrong type are errors reported with file and line.
#
# Any expression may call env("NAME") to read an environment variable, which
# must be set, e.g.  password = env("BRIDGE_NATS_PASSWORD").
# Relative paths are relative to the directory the bridge is started in.

# The store name: this bridge answers store.<name>.get and store.<name>.list.
# One subject token (no '.', '*', '>' or white space). Give every bridge its
# own name; in an embedded cluster it is also the NATS server name.
name = "default"

# Holds the primary key (<data_dir>/primary-key, created on first start and
# never logged), the cores' storage and the embedded server's JetStream store
# (<data_dir>/jetstream).
data_dir = "./data"

# Put in front of every subject, followed by a dot: with "acme.prod" the
# bridge answers acme.prod.store.default.get. Empty: no prefix. Bridges that
# replicate to each other must use the same prefix.
subject_prefix = ""

# Lowest level logged to stderr: "debug", "info", "warn" or "error".
log_level = "info"

# "text" (key=value lines) or "json" (one JSON object per line).
log_format = "text"

nats {
  # Empty: run an embedded nats-server with JetStream (the settings below
  # marked "embedded"). Otherwise the existing NATS to connect to, e.g.
  # "nats://nats-1:4222,nats://nats-2:4222"; it must have JetStream enabled.
  url = ""

  # Embedded: the client address, host:port. Port -1 picks a free port. Use
  # "0.0.0.0:4222" to accept clients from other machines. Not allowed with url.
  listen = "127.0.0.1:4222"

  # Embedded: the server's name, unique in a cluster and stable across
  # restarts. Empty: the bridge's name.
  server_name = ""

  # Credentials; set at most one way. Embedded: what clients must present
  # (the bridge's own connection uses it too). With url: what the bridge
  # presents. Empty: no authentication.
  user             = ""   # with password
  password         = ""
  token            = ""
  nkey_seed_file   = ""   # a file holding an NKey user seed (SU...)
  credentials_file = ""   # with url only: a .creds file (JWT + seed)

  # How long to wait at start for the embedded server, the connection and a
  # working JetStream before giving up with an error.
  start_timeout = "10s"

  # TLS (no block: none).
  # tls {
  #   cert     = "server-cert.pem" # embedded: the server's certificate; with url: a client certificate
  #   key      = "server-key.pem"
  #   ca       = "ca.pem"          # embedded: CA for client certificates; with url: CA of the server
  #   verify   = false             # embedded: require client certificates signed by ca
  #   insecure = false             # with url: do not check the server's certificate (testing only)
  # }

  # Embedded cluster: this bridge's server joins the embedded servers of other
  # bridges in one NATS cluster, and JetStream runs clustered across them (set
  # jetstream.replicas to 3 for an R3 stream). Each bridge needs its own name.
  # No block: a single server.
  # cluster {
  #   name   = "corebridge"                  # the same on every member
  #   listen = "0.0.0.0:6222"                # routes from other members arrive here
  #   routes = ["nats://bridge-b:6222", "nats://bridge-c:6222"]
  # }
}

jetstream {
  # The one stream that holds every replicated core, subject hc.repl.<discovery key>
  # (after subject_prefix). Bridges that replicate to each other share it.
  stream = "COREBRIDGE"

  # Copies of the stream, 1 to 5; more than 1 needs a cluster.
  replicas = 1

  # How long the stream remembers message ids, so a retried publish is not
  # stored twice.
  duplicate_window = "2m"

  # Embedded: caps on JetStream memory and disk, e.g. "1GiB". Leave them out
  # to let the server choose from the machine's resources.
  # max_memory  = "1GiB"
  # max_storage = "10GiB"
}

limits {
  # The largest value a client may append, as bytes or with a unit (KiB, MiB,
  # KB, MB, ...), at most 32MiB. Larger values are answered with error 413.
  # The embedded server accepts messages of this size plus 64KiB; an
  # existing NATS must allow at least this (its max_payload).
  max_value_size = "1MiB"
}

corestore {
  # true: corestore 6 / hypercore 10 keys (the core key is the ed25519
  # public key). false: corestore 7 / hypercore 11 manifest keys.
  compat = false

  # The storage backend: a builtin ("bolt", "memory" for tests) or a plugin.
  storage = "bolt"

  # Memory for recently read and appended blocks, shared by all cores, as
  # bytes or with a unit (KiB, MiB, ...). Reads it answers skip the storage
  # backend (a plugin round trip). A read or append of more than an eighth
  # of it is not cached. 0 disables it.
  block_cache = "64MiB"
}

plugins {
  # External plugins: executables named corebridge-encoding-<name> and
  # corebridge-storage-<name> in this directory.
  dir = "./plugins"

  # One block per plugin that needs settings; a plugin without a block runs
  # with its defaults. The blocks below change nothing.
  encoding "json" {
    # The plugin executable. Empty: the builtin of that name, else
    # <dir>/corebridge-encoding-<name>.
    path = ""

    # true: run a builtin inside the bridge instead of as a plugin process.
    in_process = false

    # Settings for the plugin itself, checked against the plugin's own schema.
    config {
    }
  }

  storage "bolt" {
    path       = ""
    in_process = false
    config {
    }
  }
}
