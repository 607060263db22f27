// Package nats puts a corebridge bridge on NATS.
//
// It owns the bridge's link to NATS and the vocabulary of its API:
//
//   - [Connect] starts an embedded nats-server with JetStream (store in
//     <data_dir>/jetstream, logs through slog, auth, TLS and cluster from
//     the configuration) or connects to an existing NATS, and checks that
//     JetStream answers before it returns. [Conn.Shutdown] drains the
//     connection and stops the embedded server. A bridge that cannot get
//     a working JetStream fails at start with an error saying so; it never
//     runs half connected.
//   - [Subjects] builds and parses every subject of the API (DESIGN.md §3)
//     and of replication from the templates in subjects.go, under the
//     configured prefix. Tokens from clients are checked, so they can
//     never turn a subject into a wildcard.
//   - [ParseKey] reads core keys as people write them (hex or z-base-32,
//     pear:// links); subjects and replies use lowercase hex ([KeyHex]).
//   - [Error], [Classify] and [RespondError] answer failed requests by the
//     NATS micro convention (Nats-Service-Error and
//     Nats-Service-Error-Code headers, codes 400, 404, 409, 413, 500,
//     503); [ReplyError] reads such an answer back.
//
// Inside this package the NATS client is imported as natsgo.
package nats
