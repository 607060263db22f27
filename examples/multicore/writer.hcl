# The writer's bridge in the multicore example. It runs the embedded
# nats-server (with JetStream) that the reader's bridge and both programs
# connect to. Run it from the repository root:
#
#   go run ./cmd/bridge serve -config examples/multicore/writer.hcl
#
# config.example.hcl documents every setting; the rest are the defaults.

# The store name: this bridge answers store.writer.get.
name = "writer"

# Its primary key, its cores and the embedded server's JetStream store.
data_dir = "examples/multicore/data/writer"

nats {
  # No url: run an embedded nats-server, on this address.
  listen = "127.0.0.1:4222"
}
