package nats

import (
	"github.com/nats-io/nats.go/jetstream"

	"github.com/corebridge/corebridge/config"
)

// maxStreamConsumers is the replication stream's consumer limit.
const maxStreamConsumers = 1 << 30

// StreamConfig is the replication stream as the configuration describes
// it: one stream named cfg.JetStream.Stream holding every core under
// hc.repl.> (after the prefix), file-backed, with the configured replicas
// and duplicate window, and direct gets allowed so a reader bridge can
// fetch one core's messages from any replica. Nothing is ever discarded
// by age or count: the stream is the cores' replicated history.
func StreamConfig(cfg *config.Config, s Subjects) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        cfg.JetStream.Stream,
		Description: "corebridge: signed Hypercore append batches, one subject per core (hc.repl.<discovery key>)",
		Subjects:    []string{s.ReplicationFilter()},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Replicas:    cfg.JetStream.Replicas,
		Duplicates:  cfg.JetStream.DuplicateWindow,
		AllowDirect: true,
		// A reader follows each core with an ordered consumer of its own,
		// so the server's default cap of 1,000 consumers per stream would
		// cap every reader bridge together at 1,000 followed cores. A
		// stream limit, when set, replaces that default.
		MaxConsumers: maxStreamConsumers,
	}
}
