package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/corebridge/corebridge/plugins"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// valueSize is the size of every value the bench appends.
const valueSize = 1024

// sizes are how long and how much each measurement takes.
type sizes struct {
	duration   time.Duration // one timed loop
	warmup     time.Duration // untimed loop before it
	readBlocks int           // blocks of the core reads go to
	replBlocks int           // blocks a reader catches up
	lagWindow  time.Duration // how long appends run at lagRate
	lagRate    int           // appends per second while lag is measured
	cores      int           // cores open for the memory figure
}

func fullSizes() sizes {
	return sizes{
		duration: 2 * time.Second, warmup: 400 * time.Millisecond,
		readBlocks: 10_000, replBlocks: 20_000,
		lagWindow: 5 * time.Second, lagRate: 1000, cores: 10_000,
	}
}

func quickSizes() sizes {
	return sizes{
		duration: 200 * time.Millisecond, warmup: 50 * time.Millisecond,
		readBlocks: 1000, replBlocks: 2000,
		lagWindow: 500 * time.Millisecond, lagRate: 1000, cores: 500,
	}
}

// group is one set of figures that -only can pick.
type group struct {
	name    string
	summary string
	run     func(ctx context.Context, b *bench) error
}

func groups() []group {
	return []group{
		{"nats", "raw NATS request/reply against a trivial responder: the ceiling", runNATS},
		{"append", "durable single-value appends, 1 and 64 in flight, one core and 100 cores", runAppend},
		{"batch", "batched appends of 100 values (Corebridge-Batch: frames)", runBatch},
		{"read", "core.<key>.block reads, 1 and 64 in flight", runRead},
		{"plugin", "appends and reads with plugin processes vs in_process builtins", runPlugin},
		{"repl", "a reader bridge catching up a core, and lag at a steady append rate", runRepl},
		{"cores", "10,000 open cores: resident memory and append latency", runCores},
		{"js", "the JavaScript anchors: corestore 7 / hypercore 11 (node bench/js/bench.mjs)", runJS},
	}
}

// options are the parsed command line.
type options struct {
	runs       int
	json       bool
	jsonOut    string
	quick      bool
	only       map[string]bool
	cpuprofile string
	memprofile string
	plugprof   string
	jsDir      string
	size       sizes
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	var only string
	var duration time.Duration
	fs.IntVar(&o.runs, "runs", 5, "measure every figure `N` times; report median, min and max")
	fs.BoolVar(&o.json, "json", false, "print one JSON object instead of the table")
	fs.StringVar(&o.jsonOut, "jsonout", "", "also write the JSON object to `FILE`, whatever stdout gets")
	fs.BoolVar(&o.quick, "quick", false, "small sizes and short loops, for tests")
	fs.StringVar(&only, "only", "", "run only these comma-separated figure `groups`: "+groupNames())
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of this process (clients, NATS, bridges; not plugin processes or node) to `FILE`")
	fs.StringVar(&o.memprofile, "memprofile", "", "write a heap profile of this process to `FILE` while the most cores are open (cores group, first run)")
	fs.StringVar(&o.plugprof, "plugincpuprofile", "", "make each plugin process write a CPU profile to `PREFIX`.<kind>-<name>.<pid>")
	fs.StringVar(&o.jsDir, "js", "", "the `DIR` holding bench.mjs and package.json (default: bench/js or ./js)")
	fs.DurationVar(&duration, "duration", 0, "length of each timed loop (default 2s, 200ms with -quick)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: go run ./bench [flags]\n\nGroups:\n")
		for _, g := range groups() {
			fmt.Fprintf(fs.Output(), "  %-7s %s\n", g.name, g.summary)
		}
		fmt.Fprintf(fs.Output(), "\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if o.runs < 1 {
		return nil, fmt.Errorf("-runs %d: want at least 1", o.runs)
	}
	o.size = fullSizes()
	if o.quick {
		o.size = quickSizes()
	}
	if duration > 0 {
		o.size.duration, o.size.warmup = duration, duration/5
	}
	if only != "" {
		o.only = map[string]bool{}
		known := map[string]bool{}
		for _, g := range groups() {
			known[g.name] = true
		}
		for _, name := range strings.Split(only, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if !known[name] {
				return nil, fmt.Errorf("-only: unknown group %q; groups are %s", name, groupNames())
			}
			o.only[name] = true
		}
	}
	return o, nil
}

func groupNames() string {
	var names []string
	for _, g := range groups() {
		names = append(names, g.name)
	}
	return strings.Join(names, ",")
}

// run is the whole command: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return exitUsage
	}
	defer plugins.CleanupAll()
	b, err := newBench(o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return exitFail
	}
	defer b.close()
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return exitFail
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "bench: cpu profile: %v\n", err)
			return exitFail
		}
		defer pprof.StopCPUProfile()
	}
	b.rep.Machine = machineInfo()
	b.rep.Machine.Command = "go run ./bench " + strings.Join(args, " ")
	for _, g := range groups() {
		if o.only != nil && !o.only[g.name] {
			continue
		}
		b.progress("%s: %s", g.name, g.summary)
		before := sampleCPU()
		if err := g.run(ctx, b); err != nil {
			fmt.Fprintf(stderr, "bench: %s: %v\n", g.name, err)
			return exitFail
		}
		l := loadBetween(before, sampleCPU())
		b.rep.Load[g.name] = l
		b.rep.loadOrder = append(b.rep.loadOrder, g.name)
		b.progress("%s: done in %.1fs; cores busy: bench %.2f, others %.2f, steal %.2f", g.name, l.Seconds, l.OwnCores, l.ForeignCores, l.StealCores)
	}
	b.rep.Machine.LoadAfter = loadAvg()
	b.rep.finish()
	if o.json {
		err = b.rep.writeJSON(stdout)
	} else {
		err = b.rep.writeTable(stdout)
	}
	if err == nil && o.jsonOut != "" {
		err = writeFile(o.jsonOut, b.rep.writeJSON)
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return exitFail
	}
	return exitOK
}

// writeFile creates path and fills it with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// bench is the state of one run of the command.
type bench struct {
	o      *options
	size   sizes
	stderr io.Writer
	log    *slog.Logger // for the bridges: warnings and errors
	tmp    string       // holds every data directory; removed at the end
	rep    *report
	dirs   int
}

func newBench(o *options, stderr io.Writer) (*bench, error) {
	tmp, err := os.MkdirTemp("", "corebridge-bench-")
	if err != nil {
		return nil, err
	}
	return &bench{
		o: o, size: o.size, stderr: stderr, tmp: tmp, rep: newReport(),
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}, nil
}

func (b *bench) close() { os.RemoveAll(b.tmp) }

// progress writes one line of progress to stderr.
func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(b.stderr, "bench: "+format+"\n", args...)
}

// record adds one run's value of a figure and reports it.
func (b *bench) record(name, unit string, v float64) {
	b.rep.add(name, unit, v)
	b.progress("  %-24s %12s %s", name, formatValue(v), unit)
}

// recordRate adds a throughput figure and its CPU cost, <name>_cpu.
func (b *bench) recordRate(name, unit string, r rate) {
	per := "µs/" + strings.TrimSuffix(strings.TrimSuffix(unit, "/s"), "s")
	b.rep.add(name, unit, r.perSecond)
	b.rep.add(name+"_cpu", per, r.cpuPerOp)
	b.progress("  %-24s %12s %-11s %8s %s CPU", name, formatValue(r.perSecond), unit, formatValue(r.cpuPerOp), per)
}

// runs calls fn once per run, with the run's index.
func (b *bench) runs(ctx context.Context, fn func(run int) error) error {
	for i := 0; i < b.o.runs; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.progress("run %d/%d", i+1, b.o.runs)
		if err := fn(i); err != nil {
			return err
		}
	}
	return nil
}
