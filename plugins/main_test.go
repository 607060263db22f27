package plugins

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	if kind, name, ok := TestPlugin(); ok && kind == echoKind {
		serveTestPlugin(name)
	}
	os.Exit(m.Run())
}
