# The reader's bridge in the multicore example. It runs no nats-server of
# its own: it connects to the writer's bridge's embedded one, and follows
# the writer's cores through the JetStream stream there. Start the writer's
# bridge first, then, from the repository root:
#
#   go run ./cmd/bridge serve -config examples/multicore/reader.hcl
#
# config.example.hcl documents every setting; the rest are the defaults.

# The store name: this bridge answers store.reader.get.
name = "reader"

# Its own primary key and its copies of the cores; never share a data_dir
# between bridges.
data_dir = "examples/multicore/data/reader"

nats {
  # The writer's bridge's embedded server (nats.listen in writer.hcl).
  url = "nats://127.0.0.1:4222"
}
