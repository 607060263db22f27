// Package config reads the bridge's HCL configuration file.
//
// [Load] and [Parse] decode a file with gohcl into a [Config] whose values
// are already checked and typed: durations are [time.Duration], sizes are
// byte counts, the log level is a [slog.Level]. Every setting has a
// default, so [Default] is a complete configuration and a bridge runs
// without any file.
//
// What this package promises:
//
//   - A file that does not parse or does not validate is reported as
//     [hcl.Diagnostics]: each diagnostic names the file, line and columns
//     of the offending text ("bridge.hcl:7,3-9: ..."), so a person can go
//     straight to it. Unknown keys, values of the wrong type and values out
//     of range are all errors; nothing is silently ignored.
//   - Plugin blocks (encoding "name" {...}, storage "name" {...}) keep the
//     body of their config {...} block undecoded in [Plugin.Config], to be
//     decoded later against the plugin's own schema; that body still
//     carries file and line for its own diagnostics.
//   - The function env("NAME") may be used in any expression; it fails
//     when the variable is not set, so secrets can stay out of the file
//     without an empty password slipping through.
//   - Relative paths (data_dir, plugins.dir, TLS files, ...) are kept as
//     written and so resolve against the bridge's working directory.
//
// config.example.hcl at the root of the repository documents every setting
// and shows its default; a test keeps it equal to [Default].
package config
