// Command bench measures a bridge against its anchors in one run: the raw
// NATS request/reply ceiling of the same server, and JavaScript corestore 7
// / hypercore 11 on the same machine and disk.
//
//	go run ./bench [-runs 5] [-json] [-jsonout FILE] [-only nats,append,...] [-quick]
//	               [-duration 2s] [-cpuprofile FILE] [-memprofile FILE]
//	               [-plugincpuprofile PREFIX] [-js DIR]
//
// It starts everything it needs (embedded nats-servers on random ports,
// bridges with their plugin processes, temporary data directories) and
// removes it again. Plugin processes are this binary run again: see
// plugins.TestCommand. Each figure is measured -runs times and reported as
// median, min and max; ratios are taken between medians. Every throughput
// figure <name> comes with <name>_cpu, the CPU time the bench's whole
// process tree spent per operation, which moves much less than throughput
// when other processes compete for the machine. A table for people goes to
// stdout, or with -json one object for machines:
//
//	{"figures": {"<name>": {"median", "min", "max", "unit", "values"}},
//	 "ratios": {"<name>": 1.23}, "targets": {...}, "machine": {...},
//	 "load": {"<group>": {"ownCores", "foreignCores", "stealCores", "seconds"}}}
//
// Progress goes to stderr. BENCHMARKS.md at the module root holds the
// figures of one run and what bounds each of them.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/corebridge/corebridge/plugins"
	"github.com/corebridge/corebridge/plugins/builtin"
)

func main() {
	if kind, name, ok := plugins.TestPlugin(); ok {
		// This process is a plugin of a bridge the bench started.
		os.Exit(servePlugin(kind, name))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// pluginProfileEnv, set by -plugincpuprofile, makes each plugin process
// write a CPU profile to <value>.<kind>-<name>.<pid>.
const pluginProfileEnv = "COREBRIDGE_BENCH_PLUGIN_PROFILE"

// servePlugin serves a builtin plugin until the bridge closes it.
func servePlugin(kind plugins.Kind, name string) int {
	if prefix := os.Getenv(pluginProfileEnv); prefix != "" {
		f, err := os.Create(fmt.Sprintf("%s.%s-%s.%d", prefix, kind, name, os.Getpid()))
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer f.Close()
			defer pprof.StopCPUProfile()
		}
	}
	if err := builtin.Serve(context.Background(), kind, name); err != nil {
		os.Stderr.WriteString("bench plugin: " + err.Error() + "\n")
		return 1
	}
	return 0
}
