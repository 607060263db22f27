// Bridge is the corebridge service and its command line.
//
//	bridge serve [-config FILE]   run a bridge until SIGINT or SIGTERM
//	bridge version                print the version
//	bridge help [COMMAND]         show help
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
