package plugins

import (
	"os"
	"strings"
)

// TestPluginEnv is the environment variable that turns a test binary into a
// plugin process. Its value is "<kind>/<name>".
//
// Tests run their own test binary as the plugin: TestCommand starts the
// binary with this variable set, and the package's TestMain serves the
// named builtin instead of running tests:
//
//	func TestMain(m *testing.M) {
//		if kind, name, ok := plugins.TestPlugin(); ok {
//			serveBuiltin(kind, name) // calls plugins.Serve; never returns
//		}
//		os.Exit(m.Run())
//	}
const TestPluginEnv = "COREBRIDGE_TEST_PLUGIN"

// TestCommand returns a command that re-runs the current test binary as the
// plugin kind/name; see TestPluginEnv.
//
// A test binary built with -race waits a second before it exits; the
// command turns that wait off, so closing a plugin stays quick.
func TestCommand(kind Kind, name string) Command {
	return Command{
		Kind: kind,
		Name: name,
		Path: executable(),
		Env: []string{
			TestPluginEnv + "=" + string(kind) + "/" + name,
			"GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"),
		},
	}
}

// TestPlugin reports whether this process was started by TestCommand, and
// which plugin it is to serve.
func TestPlugin() (kind Kind, name string, ok bool) {
	v, set := os.LookupEnv(TestPluginEnv)
	if !set {
		return "", "", false
	}
	k, n, found := strings.Cut(v, "/")
	if !found {
		return "", "", false
	}
	return Kind(k), n, true
}
