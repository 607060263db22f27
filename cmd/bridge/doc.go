// Bridge is the corebridge service and its command line.
//
//	bridge serve [-config FILE]   run a bridge until SIGINT or SIGTERM
//	bridge get NAME | -key KEY    open or create a core, print its info
//	bridge append KEY VALUE...    append values (several: one atomic batch)
//	bridge block KEY INDEX        print one block
//	bridge info KEY               print a core's info
//	bridge tail [-from N] KEY     print blocks from N on and follow new ones
//	bridge version                print the version
//	bridge help [COMMAND]         show help
//
// The client verbs talk to any bridge over NATS (docs/cli.md).
//
// "bridge serve" hosts Hypercore logs organised by a Corestore and serves
// them on NATS, with an embedded nats-server by default. It runs without
// any configuration file; config.example.hcl at the root of the
// repository documents every setting.
//
// Exit codes: 0 success (also after a SIGINT or SIGTERM handled cleanly),
// 1 failure (a configuration error, reported as file:line, or NATS or
// JetStream not usable), 2 a wrong command line.
//
// Each verb is one entry in the command table of main.go.
package main
