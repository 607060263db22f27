// Package plugins runs corebridge's plugins: value encodings and storage
// backends served by hashicorp/go-plugin over gRPC, each in a process of its
// own (or, for builtins configured with in_process = true, inside the host).
//
// This package is the machinery shared by every plugin kind; the kinds
// themselves live in plugins/encodings and plugins/storage.
//
// # Host side
//
// Start launches a plugin process described by a Command and returns a
// Process that supervises it:
//
//   - The process speaks gRPC only and must complete the Handshake.
//   - On Linux the kernel SIGKILLs it when the host dies, whatever the
//     cause; CleanupAll kills every plugin process on an orderly exit.
//     cmd/bridge calls CleanupAll on every way out (deferred in main, before
//     os.Exit, and on SIGINT/SIGTERM).
//   - When the process dies, the Process starts it again, waiting 50ms
//     before the first restart and doubling up to 5s while it keeps dying;
//     a process that stayed up for 30s resets the wait. Each restart is
//     logged with the plugin's kind, name, pid and exit status.
//   - Calls in flight when the process dies fail at once with an error that
//     matches ErrUnavailable; they never hang. Get waits for the restarted
//     process, bounded by its context.
//   - Whatever the plugin logs (see NewPluginLogger), and any other line it
//     writes on stderr, reaches the *slog.Logger given to Start.
//
// Builtins run from the bridge binary itself (BuiltinCommand runs
// `bridge plugin serve <kind> <name>`); external plugins are executables
// named corebridge-<kind>-<name> in the plugin directory (ExternalCommand).
//
// # Plugin side
//
// A plugin process's main calls Serve with its plugin set and nothing else
// on stdout. Errors cross the boundary as gRPC statuses built from an
// ErrorTable, and come back as the same sentinels, so errors.Is holds on the
// host side and the plugin's message is kept.
//
// # Tests
//
// Tests run their own test binary as the plugin process: see TestCommand
// and TestPluginEnv.
package plugins
