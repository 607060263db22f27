package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
)

func versionCommand() command {
	return command{
		name:    "version",
		summary: "print the bridge's version",
		help: `
Version prints the module version the binary was built from (or "devel"),
the source revision when the build recorded one, and the Go version.
`,
		run: func(_ context.Context, s streams, fs *flag.FlagSet, args []string) int {
			if len(args) > 0 {
				return versionCommand().badArgs(s, fs, args)
			}
			fmt.Fprintln(s.stdout, versionString())
			return exitOK
		},
	}
}

// versionString describes the running binary from its build information.
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "bridge devel (no build information)"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v += " " + s.Value
		case "vcs.modified":
			if s.Value == "true" {
				v += "+dirty"
			}
		}
	}
	return fmt.Sprintf("bridge %s %s", v, bi.GoVersion)
}

// moduleVersion is the module version the binary was built from, such as
// "v0.3.1", or "(devel)".
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
