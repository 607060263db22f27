package plugins

import "github.com/hashicorp/go-plugin"

// Kind is a kind of plugin.
type Kind string

// The plugin kinds corebridge hosts.
const (
	KindEncoding Kind = "encoding"
	KindStorage  Kind = "storage"
)

// ProtocolVersion is the plugin protocol version. A host refuses a plugin
// that speaks another version.
const ProtocolVersion = 1

// Handshake is shared by the host and every plugin process. It is not a
// security measure: it keeps a user from running a plugin by hand and stops
// a host from launching an executable that is not a corebridge plugin.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "COREBRIDGE_PLUGIN",
	MagicCookieValue: "5f8d0c1e-hypercore-logs-over-nats",
}
